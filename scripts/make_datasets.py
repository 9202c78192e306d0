#!/usr/bin/env python3
"""Generate the bundled bilingual hotline datasets shipped in ``peftgov/datasets/``.

Two datasets are written, both authored by the peftgov project (CC-BY-4.0):

* ``hotline``     -- citizen-service hotline requests (EN + ZH) labelled with one of 14
                     intents, for intent classification.  Rows are composed from
                     hand-written templates with inline alternatives (``[a|b|c]``) and slot
                     values (``{district}``, ``{amount}``...).  Templates are assigned to
                     exactly one split, so validation/test rows never come from a template
                     seen in training (honest accuracy, not slot-swap memorisation).
* ``hotline_faq`` -- hand-written question -> agent answer pairs (EN + ZH) in chat
                     ``messages`` format, for instruction tuning a small causal LM.

Everything is synthetic: no personal data, no text copied from external datasets.
The output is deterministic (fixed seeds, string-seeded ``random.Random``), so running

    python scripts/make_datasets.py

twice produces byte-identical files.  ``--check`` regenerates in memory and fails if the
files on disk differ.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from difflib import SequenceMatcher
from pathlib import Path

SEED = 12345
ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "peftgov" / "datasets"
LANGS = ("en", "zh")
SPLITS = ("train", "validation", "test")

# Rows per intent per language in each split of ``hotline`` (template-disjoint splits).
HOTLINE_TARGET = {"train": 50, "validation": 10, "test": 10}
# Word limits (en) and character limits (zh) for one hotline request.
LENGTH_LIMITS = {"en": (5, 60), "zh": (8, 80)}
# Rows drawn from the same template must be less similar than this (difflib ratio on the
# normalised text), so a template cannot contribute near-identical rows.
NEAR_DUP_RATIO = 0.9

INTENTS = [
    "social_insurance",
    "household_registration",
    "housing_provident_fund",
    "traffic_violation",
    "business_license",
    "tax",
    "medical_insurance",
    "complaint_report",
    "utilities",
    "education_enrollment",
    "public_transport",
    "id_documents",
    "housing_property",
    "employment_labor",
]

DESCRIPTIONS = {
    "social_insurance": "Pension, unemployment, work-injury insurance, contribution records and transfers (社保).",
    "household_registration": "Hukou registration, transfer, cancellation and residence permits for citizens (户籍/户口).",
    "housing_provident_fund": "Housing provident fund contributions, withdrawals, loans and transfers (住房公积金).",
    "traffic_violation": "Traffic tickets, penalty points, towed vehicles, appeals (交通违法).",
    "business_license": "Business licence and company registration, changes, deregistration, annual reports (营业执照/企业登记).",
    "tax": "Individual income tax, VAT, invoices, property and transaction taxes, refunds (税务).",
    "medical_insurance": "Medical insurance enrolment, reimbursement, cross-region settlement, insurance cards (医保).",
    "complaint_report": "Complaints and reports: noise, pollution, food safety, illegal construction, staff conduct (投诉举报).",
    "utilities": "Water, electricity, gas and heating outages, bills and accounts (水电气暖).",
    "education_enrollment": "School and kindergarten enrolment, school zones, transfers, admission rules (入学).",
    "public_transport": "Buses, metro, taxis and ride-hailing: service, routes, cards, lost items (公共交通).",
    "id_documents": "ID cards, passports, exit-entry permits and foreigners' residence permits (证件).",
    "housing_property": "Property titles, rentals, property management, public housing, developers (房产/物业).",
    "employment_labor": "Wage arrears, labour contracts, dismissal, arbitration, job services (劳动就业).",
}

# --------------------------------------------------------------------------------------
# Slot values.  ``{name2}`` draws from the same pool as ``{name}`` but a different value.
# --------------------------------------------------------------------------------------
SLOTS = {
    "en": {
        "city": ["Beijing", "Shanghai", "Guangzhou", "Shenzhen", "Hangzhou", "Chengdu", "Wuhan",
                 "Nanjing", "Suzhou", "Xi'an", "Chongqing", "Tianjin", "Qingdao", "Xiamen",
                 "Changsha", "Kunming", "Dalian", "Ningbo"],
        "district": ["Chaoyang District", "Haidian", "Pudong", "Xuhui District", "Tianhe District",
                     "Nanshan District", "Futian", "Xihu District", "Wuhou District",
                     "Jinjiang District", "Jiangbei District", "Hongshan District",
                     "Gulou District", "Binhai New Area", "Yuzhong District", "Baiyun District",
                     "Longgang District", "Minhang District", "Yanta District", "the high-tech zone"],
        "province": ["Henan", "Sichuan", "Anhui", "Hunan", "Shandong", "Jiangxi", "Hebei",
                     "Guangxi", "Gansu", "Heilongjiang"],
        "road": ["Zhongshan Road", "Jiefang Road", "Renmin Road", "Jianshe Road", "Wenhua Road",
                 "Heping Street", "Xinhua Road", "Changjiang Road", "Huaihai Road", "Yan'an Road",
                 "Binhe Avenue", "Dongfeng Road", "Shennan Avenue", "Tianfu Avenue",
                 "Xueyuan Road", "Guangming Street"],
        "community": ["Sunshine Garden", "Lakeside Residence", "Jinxiu Homeland",
                      "Green Park Estate", "Riverside Garden", "Cuiyuan Community",
                      "Hexie Residential Compound", "Oriental Garden", "Golden Osmanthus Court",
                      "Evergreen Apartments", "Century New Town", "Binjiang Court"],
        "date": ["March 3rd", "April 12", "the 15th of last month", "May 20", "June 1st", "the 8th",
                 "October 8", "January 5", "the 3rd of this month", "September 17", "the 21st"],
        "ddl": ["tomorrow", "this Friday", "the 15th", "next Monday", "June 30", "the end of the month"],
        "ago": ["two weeks ago", "last month", "three months ago", "half a year ago", "last year",
                "about 40 days ago", "ten days ago"],
        "months": ["two months", "three months", "four months", "half a year", "almost a year",
                   "five months"],
        "months_short": ["three months", "four months", "five months", "two months"],
        "month": ["this month", "last month", "March", "October", "December", "July"],
        "month_name": ["March", "May", "August", "October", "December", "a few weeks"],
        "amount": ["380 yuan", "1,200 yuan", "2,450 yuan", "860 RMB", "5,000 yuan", "3,600 yuan",
                   "720 yuan", "1,580 yuan"],
        "fare": ["300 yuan", "260 yuan", "180 yuan", "450 yuan", "220 yuan"],
        "amount_small": ["50 yuan", "86 yuan", "120 yuan", "200 yuan", "35 yuan", "150 yuan"],
        "amount_big": ["30,000 yuan", "80,000 yuan", "150,000 yuan", "200k RMB", "45,000 yuan",
                       "120,000 yuan"],
        "amount_wage": ["8,000 yuan", "12,500 yuan", "20,000 yuan", "6,400 yuan", "15,000 yuan",
                        "over 30,000 yuan"],
        "price": ["2.8 million yuan", "1.6 million yuan", "3.5 million RMB", "900,000 yuan",
                  "1.2 million yuan"],
        "pct": ["5", "7", "8", "10", "12", "15"],
        "low_pct": ["3", "4", "2", "3.5"],
        "fine": ["200 yuan", "100 yuan", "150 yuan", "50 yuan", "500 yuan"],
        "points": ["3", "6", "9", "1", "10"],
        "time": ["10 pm", "11 pm", "midnight", "6 am", "7:30 this morning", "2 am", "9 pm",
                 "1 am"],
        "hours": ["3", "5", "6", "8", "10", "12"],
        "num": ["3", "5", "7", "8", "12", "15", "21", "30"],
        "bus": ["route 23", "route 109", "the 56", "bus line 302", "the K7", "route 18",
                "route 211", "the night bus N3"],
        "metro": ["Line 2", "Line 4", "Metro Line 1", "Line 10", "Line 6", "Line 3"],
        "station": ["People's Square", "East Railway Station", "Century Park", "Zhongshan Park",
                    "Xinjiekou", "Science Park", "Olympic Center", "Civic Center"],
        "stop": ["People's Hospital", "Wenhua Road", "Xinhua Bookstore", "City Library",
                 "Stadium", "Long-distance Bus Station"],
        "hospital": ["the People's Hospital", "the maternity hospital", "the district hospital",
                     "the Children's Hospital", "the First Affiliated Hospital"],
        "company": ["a logistics company", "a restaurant", "a garment factory",
                    "a delivery station", "a decoration company", "an electronics factory",
                    "a hotel", "a construction site"],
        "park": ["Zhongshan", "Riverside", "Century", "People's", "Lakeview", "Binjiang"],
        "school": ["Experimental Primary School No. 2", "Wenhua Road Primary School",
                   "the Foreign Language School", "No. 1 Middle School", "Yucai Primary School"],
        "years": ["2", "3", "5", "8", "10", "12"],
        "age": ["6", "10", "14", "15", "12"],
        "kid_age": ["2", "3", "4", "5"],
        "weeks": ["two", "three", "four", "five"],
        "size": ["89", "120", "144", "65", "98"],
        "size_small": ["3", "5", "6.8", "4"],
        "country": ["Thailand", "Japan", "France", "Italy", "Malaysia", "Australia", "the UK"],
        "when": ["next week", "tomorrow", "this Friday", "in three days", "at the end of the month"],
        "day": ["10th", "15th", "20th", "5th"],
    },
    "zh": {
        "city": ["北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "南京", "苏州", "西安", "重庆",
                 "天津", "青岛", "厦门", "长沙", "郑州", "合肥", "东莞", "宁波", "昆明"],
        "district": ["朝阳区", "海淀区", "浦东新区", "徐汇区", "天河区", "南山区", "福田区", "西湖区",
                     "武侯区", "锦江区", "江北区", "洪山区", "鼓楼区", "滨海新区", "渝中区", "白云区",
                     "龙岗区", "闵行区", "雁塔区", "岳麓区", "金水区", "高新区", "经开区"],
        "province": ["河南", "四川", "安徽", "湖南", "山东", "江西", "河北", "广西", "甘肃", "黑龙江"],
        "street": ["中山路", "解放路", "人民路", "建设路", "文化路", "和平街", "新华路", "长江路",
                   "光明路", "幸福路", "东风路", "学府路", "滨江大道", "迎宾大道", "胜利街"],
        "community": ["阳光花园", "翠苑小区", "金桂苑", "锦绣家园", "和谐家园", "幸福里小区", "绿城花园",
                      "东湖小区", "碧水湾", "龙湖花园", "世纪新城", "滨江苑"],
        "date": ["3月5号", "4月12日", "上周一", "上周五", "上个月15号", "5月20号", "6月1号", "9月17号",
                 "10月8号", "1月5日", "这个月3号", "21号"],
        "ddl": ["明天", "后天", "这周五", "15号", "月底", "下周一"],
        "ago": ["两周前", "上个月", "三个月前", "半年前", "去年", "四十多天前", "十来天前"],
        "months": ["两个月", "三个月", "四个多月", "半年", "快一年", "五个月"],
        "months_short": ["三个月", "五个月", "四个月", "不到半年"],
        "month": ["这个月", "上个月", "3月份", "10月份", "12月", "7月份"],
        "month_name": ["3月", "5月", "8月", "10月", "12月", "下个月"],
        "amount": ["380元", "1200块", "2450元", "860块", "五千块", "3600元", "720块", "1580元"],
        "fare": ["300块", "260元", "180块", "450块", "220元"],
        "small": ["50", "86", "120", "200", "35", "150"],
        "amount_big": ["三万", "八万多", "十五万", "二十万", "四万五", "十二万"],
        "amount_wage": ["八千", "一万二", "两万多", "六千四", "一万五", "三万多"],
        "price": ["280万", "160万", "350万", "90万", "120万"],
        "pct": ["5", "7", "8", "10", "12", "15"],
        "low_pct": ["3", "4", "2", "3.5"],
        "fine": ["200元", "100块", "150元", "50块", "500元"],
        "points": ["3", "6", "9", "1", "10"],
        "time": ["晚上十点", "晚上十一点", "半夜十二点", "早上六点", "凌晨两点", "今天早上七点半",
                 "晚上九点", "凌晨一点"],
        "hours": ["三", "五", "六", "八", "十", "十几"],
        "num": ["3", "5", "7", "8", "12", "15", "21", "30"],
        "bus": ["23路", "109路", "56路", "302路", "K7路", "18路", "211路", "夜班N3路"],
        "metro": ["地铁2号线", "4号线", "1号线", "地铁10号线", "6号线", "3号线"],
        "station": ["人民广场", "火车东站", "世纪公园", "中山公园", "新街口", "科技园", "奥体中心",
                    "市民中心"],
        "stop": ["人民医院", "文化路口", "新华书店", "市图书馆", "体育馆", "汽车站"],
        "hospital": ["人民医院", "妇幼保健院", "区医院", "儿童医院", "附一医院", "中医院"],
        "company": ["一家物流公司", "一个饭店", "工地上", "一家服装厂", "快递站点", "一家装修公司",
                    "电子厂", "一家酒店"],
        "park": ["中山", "人民", "滨江", "世纪", "湖滨", "东湖"],
        "school": ["实验二小", "文化路小学", "外国语学校", "一中", "育才小学", "十三中"],
        "n": ["2", "3", "5", "8", "10", "12"],
        "age": ["6", "10", "14", "15", "12"],
        "kid_age": ["两", "三", "四", "五"],
        "weeks": ["两", "三", "四", "五"],
        "size": ["89", "120", "144", "65", "98"],
        "size_small": ["3", "5", "6.8", "4"],
        "country": ["泰国", "日本", "法国", "意大利", "马来西亚", "澳大利亚", "英国"],
        "when": ["下周", "明天", "这周五", "三天后", "月底"],
        "soon": ["明天", "后天", "今晚", "这周五"],
        "day": ["10", "15", "20", "5"],
    },
}

# --------------------------------------------------------------------------------------
# Hotline request templates.  ``[a|b|c]`` picks one alternative (an empty one is allowed),
# ``{slot}`` draws a slot value.  Each template belongs to exactly one split.
# --------------------------------------------------------------------------------------
TEMPLATES: dict[str, dict[str, list[str]]] = {"en": {}, "zh": {}}

TEMPLATES["en"]["social_insurance"] = [
    "My pension for {month} [hasn't arrived yet|still hasn't been paid|is late again]. I retired from a state-owned factory in {district}. [Who should I ask?|What's going on?]",
    "[How do I|How can I|What's the procedure to] transfer my social insurance contributions from {city} to {city2}? I [changed jobs|moved here for work] {ago}.",
    "I was laid off {ago}. [How do I apply for|Am I eligible for|Where do I claim] unemployment benefits?",
    "My employer [hasn't paid my social insurance for {months} now|stopped paying my social insurance {months} ago|has been skipping my social insurance payments for {months}][, but they still deduct it from my salary|]. What can I do?",
    "I [hurt my hand on a machine|fell off a ladder|injured my back lifting boxes|was hit by a car on my way to work] on {date}. How do I apply for work injury insurance?",
    "Where can I [print|download|get a copy of] my social insurance contribution record? [The bank needs it for my mortgage|I need it for the car plate lottery|My kid's school is asking for it].",
    "I'm a freelancer in {city}. Can I pay [pension insurance|social insurance] on my own as a flexible worker, and [how much is it per month|which contribution level should I choose]?",
    "Why did my pension drop by {amount_small} this month? Nobody [told me anything|sent any notice|explained it].",
    "My social security card is [demagnetized|cracked|lost|not working at the hospital]. How do I get a new one[ and do I need to go in person|]?",
    "My [father|mother|grandfather] passed away {ago}. What's the procedure to claim the funeral allowance and the rest of [his|the] pension account?",
    "I worked in {city} for {years} years as a foreigner. Can I withdraw my pension contributions when I leave China for good?",
    "I turn 60 in {month_name}. What do I need to prepare so my pension starts on time?",
    "The unemployment benefit for {month} never reached my bank card. [Is there a delay?|What happened?|Who can check this?]",
    "How many years of contributions do I need before I can get a monthly pension? I've paid {years} years so far[ and I'm 52|].",
    "The social insurance office in {district} says {months} of my contributions from {city} are missing from the system. How [can I|do I] fix that?",
    "Is there a deadline to pay this year's [urban and rural resident pension insurance|resident pension contribution]? My [mom|dad] wants to pick a higher level.",
    "My work injury claim has been pending for {months}. I can't work and nobody is paying me. Is this normal?",
    "[Why is the contribution base on my social insurance statement|How come the contribution base on my social insurance statement is] so much lower than my real salary? [Is my company cheating?|Is that allowed?|Can I ask them to fix it?]",
    "My [grandmother|father|mother|uncle] has to do the annual pension qualification check but is [bedridden|in a nursing home|in hospital]. Can it be done at home or by facial recognition?",
    "I [accidentally|mistakenly] paid social insurance in {city} and {city2} for the same months. Can I get the duplicate payments refunded?",
    "Why did my social insurance contribution go up again [this July|this year|from last month]? [How is the base calculated?|Nobody at work could explain it.|It's about {amount_small} more a month.]",
    "applied for unemployment insurance online {ago}, status still says under review. how long does it [take|usually take]",
    "I'm retired and moving to live with my [daughter|son] in {city2}. Can my pension be paid there instead?",
    "I found a [job|new job|part-time job] {ago} while still getting unemployment benefits. Do I have to report it and stop the payments[ myself|]?",
    "I worked at a state-owned [enterprise|steel plant|textile mill] for [15|12|18] years before contributions started. How are those years counted toward my pension?",
    "I missed {months} of social insurance payments between jobs. Can I still make up the contributions[ or is it too late|]?",
]

TEMPLATES["en"]["household_registration"] = [
    "How do I register my newborn [son|daughter|baby] in our hukou? The baby was born on {date} at {hospital}.",
    "I just got a job offer in {city}. What do I need to move my hukou there [as a new graduate|under the talent introduction policy]?",
    "Our household register booklet [is lost|got soaked when the pipe burst|was torn up by my kid|can't be found since we moved]. How do we get a replacement[ in {district}|]?",
    "My wife's hukou is still in her hometown in {province}. Can she move it to {city} to join mine?",
    "My [grandfather|grandmother|father] died {ago}. Where do we go to cancel [his|her|the] household registration?",
    "After the divorce I want to change my [son's|daughter's] surname on the hukou to mine. [What documents does the police station need?|Does my ex have to agree?|Is that even possible?]",
    "Which police station handles hukou matters in {district}? I just moved to {road}.",
    "My collective hukou is still with my [old company|former employer|university]. I've bought a flat in {district} now, how do I move it to my own address?",
    "The date of birth on my hukou is off by [a year|two years|a month]. Can it be corrected, and what proof do they want?",
    "I'm not a local. Can I apply for a residence permit without a registered rental contract[ in {district}|]?",
    "I came back after studying in {country}. Can returnees settle their hukou in {city}, and what's the process?",
    "How long is the hukou migration certificate valid? Mine was issued on {date} and I haven't used it yet.",
    "When does the points-based hukou application open [this year|for the next round] in {city}?",
    "Our [son|daughter] was born in {country}. How do we register [him|her] in our household registration back home?",
    "My landlord [refuses|doesn't want] to let me register my residence at his address[ in {district}|]. Is there any other way[ to get registered|]?",
    "We're divorced and I need to move my hukou out of my ex-husband's household booklet. [Where do I go?|Do I need his signature?|He won't give me the booklet.]",
    "I have a rural hukou from {province}. If I transfer to an urban hukou in {city} will I lose my land in the village?",
    "Can my parents move their hukou to {city} to live with me? They are both over [60|65|70].",
    "My name has a rare character that the hukou system can't display, [and the bank won't open an account for me|so every form gets it wrong|and I couldn't even buy a train ticket]. What can be done?",
    "Where can I get a household registration certificate for my [visa|study abroad|marriage registration] application? [The embassy wants proof of hukou.|They asked for an official copy.]",
    "I'm {years} years into my career and I'd like to split off from my parents' household booklet and be head of my own household. Is that allowed?",
    "My hukou was moved out on {date} but the police station in {city} says they have no record. Now I have no hukou at all[!!|, what do I do?]",
    "My [son|daughter] is {kid_age} and still isn't registered in any hukou. What do we need to do to register late?",
    "bought a secondhand apartment in {district} but the previous owner's hukou is still registered at the address. how do i get it removed",
    "I graduated {years} years ago and my hukou is still at the university. Do I have to move it back to my hometown?",
    "The [ethnic group|place of birth|education level] on my household register is wrong. How can I get it corrected[ at the police station|]?",
]

TEMPLATES["en"]["housing_provident_fund"] = [
    "How do I withdraw my housing provident fund to pay rent? I rent a flat in {district}[ with two roommates|].",
    "We're buying a {price} apartment. How much can we borrow with a provident fund loan?",
    "My company hasn't deposited my housing provident fund for {months}[ even though it's in my contract|]. [Who do I report this to?|What can I do?]",
    "I'm leaving {city} for good. Can I withdraw the whole balance of my provident fund[ at once|]?",
    "[How do I|How can I] transfer my provident fund account from {city} to {city2} after changing jobs?",
    "My provident fund [withdrawal|rent withdrawal|loan application] was rejected on the app but it doesn't say why. [Can you check?|What should I do?|Who can explain?]",
    "Can I use my provident fund to help pay off my [parents'|wife's|husband's|son's] mortgage[ in {city}|]?",
    "My employer only contributes {low_pct} percent to the housing fund. Isn't that below the minimum?",
    "I retire [next month|in {month_name}]. How do I close my provident fund account and get the money out?",
    "The interest credited to my provident fund [last year|this June|for {month}] looks wrong. Where can I see how it was calculated?",
    "I run my own small business in {district}. Can self-employed people open a housing provident fund account voluntarily?",
    "We signed the purchase contract on {date}. How long does provident fund loan approval usually take?",
    "Our old building in {district} is installing an elevator. Can I withdraw provident fund money for my share?",
    "After our company [merged with another one|was restructured|changed its name], my provident fund balance shows zero. [Where did the money go?|Is my money gone?]",
    "I'm a foreigner working in {city}. Is my employer required to pay housing provident fund for me?",
    "Can we combine a commercial loan with a provident fund loan for our first home[ in {city}|]?",
    "Is the provident fund service hall in {district} open on Saturdays? I can't get off work on weekdays.",
    "How often can I take money out of my housing fund for rent[ in {city}|], every month or once a year?",
    "I want to repay my provident fund loan early[, about {amount_big}|]. Do I need an appointment, and is there a penalty?",
    "My [father|mother] needs surgery that will cost about {amount_big}. Can I withdraw my housing fund for a family member's serious illness?",
    "my husband and I bought a second hand flat in {district}, can we both take out our provident fund for the [down payment|purchase]?",
    "I [changed my bank card|lost the card linked to my account|switched banks]. How do I update the card linked to my housing provident fund?",
    "[HR says|My boss says|The company told us] the housing provident fund is optional and they'll just add it to my salary instead. Is that legal?",
    "Where can I get a certificate of my provident fund contributions? The [developer|bank|visa office] is asking for it.",
    "My provident fund account has been sealed since I left my last job {ago}. How do I get it unsealed at the new company[ in {city}|]?",
    "I paid into the housing fund for {years} years but never bought a house. Can I use it for anything else?",
]

TEMPLATES["en"]["traffic_violation"] = [
    "I got a speeding ticket on {road} on {date}, but I wasn't even driving that day. [My car was parked at home the whole day.|I was on a business trip.]",
    "How do I pay a {fine} traffic fine online? I don't have time to go to the traffic police.",
    "My car was towed from {road} in {district}. Where is the impound lot and what do I bring to get it back?",
    "The camera at the {road} and {road2} intersection says I ran a red light, but it was still yellow when I crossed.",
    "I've had {points} points deducted this year. How can I check how many points I have left on my license?",
    "Got a text message saying I have an unpaid [parking violation|speeding fine|traffic fine of {fine}] with a payment link. Is that real or a scam?",
    "I stopped for two minutes to drop off my [mom|dad|grandpa] at {hospital} and got a parking ticket. Can I appeal this?",
    "What's the procedure to appeal an electronic traffic violation? I think the camera [made a mistake|caught the wrong car].",
    "The violation says I drove in the bus lane on {road}, but there is no sign there at all!",
    "Someone is using a cloned plate with my number. I keep getting tickets in {city} and I've never driven there.",
    "How much is the fine for not yielding to pedestrians at a crosswalk? I got [caught|flagged] on {date}.",
    "How long can I wait before dealing with a [traffic violation|speeding ticket|parking fine] from {date}? Will there be late fees?",
    "Traffic police took my e-bike on {road} because it had no plate[ and I had no helmet|]. How do I get it back?",
    "There's a new speed camera on {road} and the speed limit sign is completely hidden behind trees. [That's a trap.|Everyone is getting fined.]",
    "I used up all 12 points on my license [last month|{ago}|this year]. Do I have to retake the theory exam to get it back?",
    "Fined for using my phone while driving, but I was stopped at a red light on {road}. Does that count?",
    "I'm selling my car [next week|this weekend|to a dealer in {city}]. How do I check if there are any unprocessed violations on it?",
    "I got two parking tickets at the same spot on the same day, one at {time} and one two hours later. Is that allowed?",
    "I drive a company car and it got a violation record on {date}. Do I handle it or does the company?",
    "Traffic police kept my driver's license at a checkpoint in {district} and gave me a slip. What happens next?",
    "Can I handle [a violation|this ticket|a {fine} fine] on the traffic app, or do I have to go to the traffic police brigade in person?",
    "I got fined for the [plate number restriction|odd-even plate rule] on {date}, which was a public holiday. That can't be right.",
    "My car is registered in {city2}. Do I need a permit to drive into {city} during rush hour? I got a ticket for it.",
    "The violation photo shows a different car model, not mine. I think the plate was misread[ by the camera|].",
    "My friend borrowed my car and got a ticket on {road}. Can he take the points on his own license?",
    "I'm a foreigner [and only have a license from my home country|living in {city}]. How do I deal with a speeding ticket here?",
]

TEMPLATES["en"]["business_license"] = [
    "I want to open a small [coffee shop|bakery|noodle restaurant|hair salon|flower shop] in {district}. What do I need for the business license?",
    "How do I set up a [wholly foreign-owned company|joint venture|representative office] in {city}? Where do I submit the application?",
    "We moved our office to {road}. How do we change the registered address on our business license?",
    "Our company stopped operating {ago}. What are the steps to deregister it?",
    "Can I register an individual business (getihu) [for my {amount_small}-a-day snack stall|for a small repair shop|as a freelance tutor] completely online?",
    "Our company [has been put on|was moved to] the list of abnormal operations [last month|{ago}|after we moved]. How do we get it removed?",
    "How long does it usually take to get the business license [in {district}|for a limited company|for a getihu] after submitting all the documents?",
    "Besides the business license, do I need a food business permit to sell [cooked food|coffee|bubble tea|homemade cakes]?",
    "We forgot to file the annual report before June 30. [What are the consequences and can we still submit it?|Will the company be fined?|Is the company blacklisted now?]",
    "Can I use my home apartment in {district} as the registered address for a new company?",
    "We want to change the legal representative of our company[ in {city}|]. What documents are required?",
    "The original copy of our business license is [lost|damaged]. How do we get a replacement?",
    "How do I add [import and export|food sales|software development] to my company's business scope?",
    "Is the electronic business license accepted by [banks for opening a corporate account|the tax bureau|landlords when signing a lease]?",
    "Someone used my ID card to register a company [in {city}|] without my knowledge! How do I get it cancelled?",
    "Do I need a business license to run a stall at the night market in {district}?",
    "Our company name application was rejected because it's too similar to an existing company. [What now?|Can we appeal?|How do we pick a name that passes?]",
    "We're opening a branch in {city2}. Does the branch need its own business license?",
    "Where is the company registration counter of the market regulation bureau in {district}?",
    "I sell [handmade jewelry|homemade snacks|secondhand books] in an online shop. Do I actually need to register a business license?",
    "I bought out my partner's {pct} percent stake[ in our {district} company|]. How do we register the change of shareholders?",
    "Can a foreigner be the [legal representative|sole shareholder|director] of a domestic Chinese company?",
    "I'm a getihu [now|with a shop in {district}] and want to convert to a limited company. Do I have to cancel the old license first?",
    "Our registered capital is [1 million|500,000|3 million] yuan, subscribed not paid. Do we have to pay it all within five years?",
    "An agency offered to get our business license done for {amount}. Is that necessary or can I do it myself for free?",
    "[three friends and I|my sister and I] want to start a [design studio|tutoring business|small workshop]. should we register as a partnership or a limited company",
]

TEMPLATES["en"]["tax"] = [
    "How do I do the annual individual income tax reconciliation[ on the app|]? [Is the deadline still June 30?|I've never done it before.|My employer says I have to do it myself.]",
    "I overpaid income tax last year[ because I changed jobs|]. How do I get a refund of about {amount}?",
    "Can I deduct my rent on my income tax? I pay {amount} a month in {city}.",
    "I have a small [shop|restaurant|repair business] in {district}. How do I issue [a VAT invoice|a special VAT invoice|an electronic invoice] to a customer?",
    "The individual income tax app shows income from a company [I have never worked for|in {city} I've never heard of]. [Is someone using my ID?|What should I do?]",
    "How do I claim the special additional deductions for my [kid's|kids'] education and for supporting my elderly [parents|mother|father]?",
    "I got a notice from the tax bureau in {district} saying my filing is overdue. What should I do?",
    "How much tax will I pay when I sell my apartment in {city}? I've owned it for {years} years.",
    "Is the VAT exemption for small-scale taxpayers still for sales under 100,000 yuan a month? [We sell about {amount_big} a month.|I can't find the latest rule.]",
    "Too much tax was withheld from my year-end bonus[ of {amount_big}|]. [Can I get some of it back?|Why is it so high?]",
    "Where do I pay vehicle purchase tax for a new [car|electric car|truck][ I bought in {city}|]?",
    "I'm a freelance [translator|designer|photographer|video editor] with several clients[ in {city}|]. How do I declare and pay tax on this income?",
    "I submitted my annual tax return with a mistake[ in the deductions| in my income|]. Can I amend it[, and is there a penalty|]?",
    "My tax refund has been showing 'processing' since {date}. Is something wrong?",
    "What's the deed tax rate for a [first|second] home of {size} square meters[ in {city}|]?",
    "We just got our business license[ for a shop in {district}|]. How do we register with the tax bureau?",
    "I need an individual income tax payment certificate for my [visa|mortgage|hukou] application. Can I print it online?",
    "Do I have to pay tax on the interest from my [bank deposits|savings|wealth management products|government bonds]?",
    "A supplier gave us an invoice [worth {amount}|] that turned out to be fake. How do we handle the input VAT and should we report it?",
    "Why is there a late fee of {amount_small} on my tax account? I filed on time.",
    "20 percent was withheld from my [freelance payment|lecture fee|consulting fee]. Will I get some of that back in the annual reconciliation?",
    "My company [reported a higher salary than I actually received|declared a bonus I never got], so I'm paying too much tax. [Who do I complain to?|How do I fix it?]",
    "How is property tax calculated on a shop I rent out in {district}?",
    "Can big medical expenses be deducted from income tax? My [mom's|dad's] treatment cost {amount_big} this year.",
    "We've filed zero returns for {months}. Will that cause problems?",
    "As a foreigner[ working in {city}|], do I pay tax on my housing and children's education allowances?",
]

TEMPLATES["en"]["medical_insurance"] = [
    "I was hospitalized in {city} on {date}. How do I get reimbursed now that I'm back home?",
    "My medical insurance card [doesn't work|was declined] at the pharmacy on {road}. [What's wrong?|Is it blocked?]",
    "How much is the resident medical insurance premium [this year|for my kids|for the elderly], and what's the payment deadline?",
    "Can my retired [parents|mother|father] be covered under my employee medical insurance[ as dependents|]? [They live with me in {city}.|They have no insurance at all.|]",
    "How do I register for direct settlement of medical bills in another province? [My mom|My dad|My father-in-law] is moving in with me[ in {city}|].",
    "Is [this targeted cancer drug|insulin|the HPV vaccine|acupuncture|physiotherapy after surgery] covered by medical insurance[ in {city}|]? [The pharmacy says no.|My doctor wasn't sure.|]",
    "My [mother|father|grandma] didn't pay [her|his] resident medical insurance this year and now it's suspended. Can [she|he] pay late?",
    "The hospital charged me {amount} and said it's not covered. How can I check which items are self-paid?",
    "How do I activate the medical insurance e-voucher on my [phone|mom's phone|new phone]? [It keeps failing face recognition.|The pharmacy asked for the QR code.|]",
    "How do I apply for outpatient coverage for a chronic disease like [diabetes|hypertension|kidney disease|heart disease]? [My doctor said I qualify.|I spend {amount} a month on medicine.|]",
    "I'm a foreigner with a work permit in {city}. Am I covered by the city's basic medical insurance?",
    "There's {amount_small} missing from my personal medical insurance account. Where did it go?",
    "Can I use the money in my medical insurance account to pay for my [wife's|husband's|child's] medicine?",
    "My baby was born on {date}. How do I enroll [him|her] in medical insurance?",
    "The surgery bill [for my father|for my wife|] was about {amount_big}. How much will critical illness insurance reimburse?",
    "Can I use medical insurance for dental fillings at a private clinic in {district}?",
    "A clinic near {road} refuses to take medical insurance and says their system is down. Every time!",
    "I changed jobs {ago} and my medical insurance had a one-month gap. Will my reimbursements be affected?",
    "I had emergency treatment while traveling in {country}. Can any of it be reimbursed?",
    "How much does medical insurance cover for childbirth[ at {hospital}|]? Is there an allowance for prenatal checkups?",
    "Where do I pay medical insurance for my [son|daughter] who is at university[ in {city}|]?",
    "What's the reimbursement rate for an inpatient stay at a tier-3 hospital[ in {city}|]?",
    "Someone used my medical insurance card to buy medicine I never bought! [How do I freeze it?|Please check this.]",
    "Does medical insurance pay for the ambulance? We were charged {amount_small}[ to go to {hospital}|].",
    "I'm retiring [soon|next year|in {month_name}]. Do I need to keep paying medical insurance, and for how many years in total?[ I've paid {years} years.|]",
    "Is there a deductible for outpatient visits[ at community clinics|]? How much can be reimbursed per year?",
]

TEMPLATES["en"]["complaint_report"] = [
    "The construction site on {road} is still working at {time}. The noise is unbearable and my kid can't sleep.",
    "A restaurant on {road} pours used cooking oil into the storm drain every night. [Please check it.|I have photos.]",
    "I want to report an illegal structure on the rooftop of building {num} in {community}. They started building it on {date}.",
    "The staff at the {district} government service center were extremely rude to me on {date}. I want to file a complaint.",
    "The [KTV|bar|mahjong parlor] under my apartment [on {road}|in {community}] is noisy until 3 am every night. Who is responsible for this?",
    "I bought [expired milk|spoiled pork|fake baby formula] at a supermarket in {district}. The shop won't admit it.",
    "A factory in {district} is letting out black smoke with a horrible chemical smell[ every night|].",
    "I called 12345 {ago} about [the noise|the blocked fire exit|the illegal parking] and nobody has followed up. Really disappointed.",
    "There are stray dogs in {park} Park chasing children. Can someone deal with them?",
    "Street vendors block the whole sidewalk at the {road} metro exit every evening.",
    "A tutoring center took {amount_big} in tuition from dozens of parents and shut down. How do we report it?",
    "Garbage in our lane [off {road}|] hasn't been collected for a week and it stinks terribly.",
    "Someone keeps burning trash on the empty lot next to {road}. The smoke comes right into our windows.",
    "The square dancing group in {park} Park starts at 6 am with huge speakers.",
    "A phone shop [on {road}|] sold me a refurbished phone as new and refuses to refund.",
    "The pharmacy on {road} sells prescription drugs without asking for any prescription.",
    "Our stairwell in {community} is covered in illegal ads for [fake certificates and loans|fake diplomas|unlicensed movers].",
    "There's a huge pothole on {road} near the school. [Two scooters fell into it today.|Someone is going to get hurt.]",
    "My neighbor [in {community}|downstairs|next door] raises chickens on the balcony. The smell is awful and he won't listen.",
    "A clerk at the {district} [service center|tax hall|housing office] hinted that I should pay a 'fee' to speed up my application. I want to report this.",
    "A parking lot in {district} charged me {amount_small} for half an hour. That's way over the posted price.",
    "The barbecue stall at the entrance of {community} smokes out the whole building every night.",
    "The upstairs neighbor's renovation starts drilling at [7 am|6:30] on weekends[ in {community}|]. Is there no rule?",
    "A takeaway shop [near {road}|] with no license, the kitchen is filthy. My whole family got diarrhea after eating there.",
    "Someone is secretly discharging wastewater into the river behind {community}. The water has turned black.",
    "Reporting an unlicensed beauty salon on {road} doing cosmetic injections. My friend's face got infected.",
]

TEMPLATES["en"]["utilities"] = [
    "No water in {community} since {time}. Is there a notice about the outage?",
    "The power has been out on {road} for {hours} hours. When will it be back?",
    "My electricity bill for {month} is {amount}, about three times higher than usual.",
    "Strong gas smell in the stairwell of building {num} in {community}! [Please send someone right away.|What should we do?]",
    "We bought a secondhand apartment [in {district}|]. How do I transfer the water, electricity and gas accounts to my name?",
    "The tap water in {district} is [yellow|cloudy|smelly] today. Is it safe to drink?",
    "Our gas was cut off for an overdue bill, but I paid it on {date}. Why hasn't it been restored?",
    "The heating in our building isn't working. It's only [15|14|12] degrees inside and we have a newborn.",
    "How can I pay my [water|electricity|gas] bill online?",
    "The water pressure on the top floors of {community} is so low we can't shower.",
    "The planned power cut notice for {district} says {ddl}. What hours exactly?",
    "My prepaid electricity meter still shows a balance [of {amount_small}|] but the power is off.",
    "The gas company says our gas meter must be replaced and we have to pay {amount_small}. Is that correct?",
    "A water main burst on {road} and the street is flooding!",
    "We are a family of [six|seven]. Can we apply for an adjustment to the tiered electricity price?",
    "The breaker trips every evening in our whole building[ in {community}|]. Is there a problem with the supply?",
    "Who do I contact to open a gas account for a new apartment in {district}?",
    "The heating fee for this winter is {amount}. How is it calculated?",
    "I set up autopay but still got a late fee [of {amount_small}|] on my [water|gas] bill.",
    "The sewer in the courtyard of {community} is backing up and dirty water is everywhere.",
    "Are there discounts on water and electricity bills for [low-income families|families on subsistence allowance|disabled residents]?",
    "I'm a tenant[ in {district}|]. The landlord didn't pay the electricity bill and now the power is cut. What can I do?",
    "Power cuts every afternoon this week in {district}. All the food in my fridge went bad.",
    "There will be a water outage in {district} tomorrow. How do I check if my building is affected?",
    "My gas stove won't light and neither will the neighbor's[ in building {num}|]. Is something wrong with the gas supply?",
    "Electricity in our village [outside {city}|] has been unstable for weeks, lights flicker and appliances keep breaking.",
]

TEMPLATES["en"]["education_enrollment"] = [
    "How do I enroll my [son|daughter] in primary school in {district}? We don't have local hukou.",
    "What documents do we need for [first grade|kindergarten|middle school] registration this September[ in {district}|]?",
    "We live in {community}. Which middle school is our assigned school?",
    "When does kindergarten registration open in {district}?",
    "My child has a foreign passport. Can [he|she] go to a public school in {city}?",
    "We just moved here from {city2}. How can my child transfer to a school here in the middle of the year?",
    "The school district boundaries changed. Last year our building belonged to {school}, now it doesn't.",
    "Is a residence permit enough for school registration[ in {district}|], or do we need a property certificate?",
    "The online enrollment system keeps crashing and the deadline is {ddl}!",
    "How are points calculated for non-local children applying to public schools[ in {city}|]?",
    "My kid's birthday is September [2nd|5th|1st]. Can [he|she] still start first grade this year?",
    "When will the [private school|kindergarten|middle school] lottery results be announced[ in {district}|]?",
    "Do children of migrant workers have to pay extra fees to attend public school[ in {city}|]?",
    "Which schools in {district} accept children with [autism|hearing impairment]?",
    "The assigned school rejected our child because our rental contract isn't registered.",
    "Can I register my child at a school near my workplace in {district} instead of near home?",
    "When is the high school entrance exam registration for students coming back from [another province|{province}]?",
    "I applied for a kindergarten place on {date} and still haven't heard anything.",
    "Does the school need the vaccination certificate for enrollment? [We lost ours.|Ours is from {city2}.]",
    "Is there a public kindergarten near {road} that still has places?",
    "We have twins[ starting first grade|]. Can they be placed at the same primary school?",
    "The school asked for a 'sponsorship fee' of {amount} before accepting my [son|daughter]. Is that allowed?",
    "My grandson lives with us while his parents work in {city2}. Can he go to school here?",
    "The enrollment verification says our household information doesn't match. [What should we do?|The deadline is {ddl}.]",
    "We're not happy with the middle school lottery result[ for {school}|]. Is there any way to appeal?",
    "Can my child who finished primary school in {country} enter middle school here, and which grade?",
]

TEMPLATES["en"]["public_transport"] = [
    "I waited 40 minutes for {bus} at the {stop} stop this morning and it never came.",
    "The driver of {bus} was rude and wouldn't let my elderly mother get on.",
    "Do seniors over 65 ride buses for free in {city}? How do I get the senior card?",
    "I left my [backpack|laptop|umbrella|phone] on {metro} around {time}. Is there a lost and found?",
    "Could you add a bus stop near {community}? The nearest one is a 20-minute walk.",
    "{metro} is packed during the morning rush. Can you run more trains?",
    "My transit card was charged twice at {station} station.",
    "What time does the last train on {metro} leave[ from {station}|]?",
    "Why was {bus} cancelled? Lots of us depend on it to get to work.",
    "A taxi driver at the [airport|railway station] refused to use the meter and charged me {fare}.",
    "The timetable at the {road} bus stop is wrong.",
    "How do I get a [student|university student|middle school] transit card with a discount[ in {city}|]?",
    "The wheelchair ramp on {bus} is broken. I couldn't get on.",
    "The drivers on {bus} speed and brake hard. An old lady fell down today.",
    "Can I pay for the metro [in {city}|] with a foreign credit card?",
    "The escalator at exit B of {station} station has been out of order for weeks.",
    "Is there a night bus from {district} to the railway station?",
    "The air conditioning on {bus} isn't on and it's 35 degrees!",
    "Shared bikes are piled up at the exit of {station} station and nobody can get out.",
    "My ride-hailing driver took a big detour [from {district}|to the airport|last night] and charged me double.",
    "How do I get back the deposit on my old transit card[ from {city}|]?",
    "Could {bus} start running earlier in the morning? I start work at 6.",
    "Will the metro be running [tomorrow|tonight|this weekend] during the typhoon?",
    "Why does {bus} skip the {stop} stop on weekends?",
    "People keep smoking on {bus} and the driver does nothing.",
    "The security check line at {station} station is way too long in the morning. Please open more lanes.",
]

TEMPLATES["en"]["id_documents"] = [
    "My ID card expires on {date}. How do I renew it?",
    "I lost my ID card somewhere in {district}. What should I do first?",
    "How long does it take to get a passport in {city}?",
    "Can I apply for a Hong Kong and Macau travel permit in {city}? My hukou is registered in {province}.",
    "I have to catch a train {when} but I lost my ID card. Where can I get a temporary one?",
    "Does my [daughter|son] need an ID card? [She|He] is {age}.",
    "My [elderly father|grandmother] can't come in person. Can I apply for a passport on [his|her] behalf?",
    "Can I retake the photo on my ID card? It [doesn't look like me at all|was taken when I was 16|is from {years} years ago].",
    "I lost my passport while travelling in {country}. How do I get home?",
    "Do I need to book an appointment at the exit-entry office in {district}?",
    "How do I get a new endorsement on my [Taiwan travel permit|Hong Kong and Macau permit] before my trip {when}?",
    "The chip on my ID card can't be read at the [station gates|hotel front desk|bank counter] anymore.",
    "Is the electronic ID on my phone accepted for [hotel check-in|boarding a train|bank business]?",
    "My new ID card is ready but I'm away [on business|in {city}]. Can a family member collect it for me?",
    "How much does a new passport cost[ in {city}|], and can I pay by phone?",
    "Can my ID card be mailed to my home[ in {district}|] instead of picking it up?",
    "I work for a state-owned enterprise. Do I need my employer's approval to apply for a passport?",
    "My Hong Kong and Macau endorsement is used up. Can I get a new one at a self-service machine?",
    "I found someone's ID card on {road}. Where should I hand it in?",
    "My [son|daughter] is 16 and applying for [his|her] first ID card. What should [he|she] bring?",
    "My foreign spouse's visa expires {when}. Where do we apply for an extension?",
    "I changed my name in the hukou[ {ago}|]. Do I also need a new ID card and passport?",
    "My passport expires in {months_short}. Can I still travel abroad with it?",
    "Can I replace my ID card here? My hukou is in {city2}.",
    "My foreigner's residence permit expires {when}. What documents do I need to renew it?",
    "Applied for a passport {ago}, status still says 'in production'. How much longer?",
]

TEMPLATES["en"]["housing_property"] = [
    "The developer is {months} late handing over our apartments in {community}. What can we buyers do?",
    "I've paid off my mortgage[ with the bank|]. How do I cancel the mortgage registration on my property certificate?",
    "Am I eligible for public rental housing with a monthly income of {amount}?",
    "Our property management company [in {community}|] raised the management fee without asking the owners.",
    "My landlord won't return my {amount} deposit even though I left the apartment spotless.",
    "How do I register my rental contract [in {district}|with the housing authority]?",
    "We inherited our parents' apartment in {district}. How do we transfer the property title into our names?",
    "Our old compound in {district} is on the renovation list. When will the work start?",
    "Water is leaking from the flat upstairs [into our kitchen|into the bathroom ceiling|for {weeks} weeks] and property management won't do anything.",
    "The demolition compensation they offered for our house [in {district}|] is far below market price.",
    "How can I check whether an apartment [in {district}|] is mortgaged or seized before I buy it?",
    "How do graduates apply for the talent housing subsidy in {city}?",
    "Can I add my [wife's|husband's] name to the property certificate? What's the procedure?",
    "The developer [of {community}|] says the property certificates are delayed another year because of land problems.",
    "I don't have local hukou. Can I buy a second apartment in {city}?",
    "The elevator in our building has been broken for {weeks} weeks. How do we use the maintenance fund to fix it?",
    "Who supervises the owners' committee election in {community}? The process looks rigged.",
    "The area on our property certificate is {size_small} square meters smaller than in the purchase contract.",
    "My landlord raised the rent by {pct} percent in the middle of the contract. Is that allowed?",
    "Do the buyer and seller both have to be at the registration center to transfer a secondhand home[ in {district}|]?",
    "The property company [in {community}|] deactivated our access cards because we refused to pay the parking fee.",
    "How long is the waiting list for affordable housing for low-income families[ in {city}|]?",
    "Can I divide my apartment [in {district}|] into several rooms and rent them out separately?",
    "Big cracks appeared in the walls of our new apartment [in {community}|] right after handover and the developer won't fix them.",
    "The developer [of {community}|] only rents parking spaces and refuses to sell them. Is that legal?",
    "Our compound's property company is leaving [at the end of {month}|next month]. Who will manage the compound now?",
]

TEMPLATES["en"]["employment_labor"] = [
    "My boss at {company} owes me {amount_wage} in wages for {months}.",
    "I was fired [without any notice|by text message|the day after I got back from sick leave] after {years} years. Am I entitled to compensation?",
    "The company refuses to sign a labor contract with me. I've been working there {months_short}.",
    "We work [12 hours a day, six days a week|from 8 am to 10 pm|every weekend], and get no overtime pay at all.",
    "How do I apply for labor arbitration in {district}? What should I bring?",
    "The contractor ran away without paying {num} of us workers. The project is in {district}.",
    "Is it legal for my employer to cut my salary while I'm on maternity leave?",
    "[Six months'|Five months'|A four-month] probation for a one-year contract[ at {company}|], is that legal?",
    "The company is forcing me to resign and won't give me a separation certificate[, so I can't start my new job|].",
    "Where can I find free job training or job fairs in {district}?",
    "We want to hire a foreign [engineer|teacher|chef] in {city}. How do we apply for the work permit?",
    "My annual leave was cancelled by the company and they won't pay for the unused days.",
    "I'm a delivery rider. The platform deducted {amount_small} from my pay for one late order.",
    "I'm [55|52|57] and the [factory|company|hotel] says I'm too old and have to leave[ after {years} years|]. Can they do that?",
    "What is the minimum wage in {city} this year?",
    "My employer is keeping my [ID card|passport|graduation certificate] and says I'll get it back when my contract ends.",
    "I'm a dispatched worker [at {company}|] doing the same job as regular staff for half the pay.",
    "We had to work during the [Spring Festival|National Day] holiday and didn't get triple pay.",
    "My employer deducts a [{amount_small}|] 'training fee' from my salary every month. Is that legal?",
    "I lost my job {ago} and want to register as a job seeker. Where can I get employment services?",
    "My school sent me to an internship at {company} and they pay nothing at all.",
    "The company is relocating to [another city|{city2}] and says anyone who doesn't move is resigning voluntarily.",
    "I signed a non-compete agreement and left the company {ago}, but they've never paid the compensation.",
    "How do college graduates apply for the startup subsidy for starting a business[ in {city}|]?",
    "The company always pays our salary at the end of the following month[, sometimes even later|]. Does that count as wage arrears?",
    "my foreman says the wages will be paid at the end of the year, it's been {months} without pay, we can't even eat",
]

TEMPLATES["zh"]["social_insurance"] = [
    "我爸{month}的养老金还没到账，以前都是每月{day}号左右发的，[怎么回事啊|是不是出什么问题了|找谁问]？",
    "之前在{city}交了{n}年社保，现在来{city2}上班了，社保怎么转过来？[要回原参保地办吗|网上能办吗|]",
    "我{ago}被公司辞退了，失业金去哪里领？[要准备什么材料|要本人去吗|能领几个月]",
    "公司{months}没给我交社保了，[工资条上还照样扣钱|一直说下个月补|问了也不理]，我该找哪个部门？",
    "上班的时候[手被机器压伤了|从梯子上摔下来了|搬货把腰闪了|骑车送货被撞了]，工伤认定怎么申请？",
    "社保缴费明细在哪里打印？[办房贷|孩子上学|摇号|办居住证]要用",
    "我是灵活就业人员，在{district}，养老保险[每个月交多少|缴费档次怎么选|在哪交]？",
    "养老金这个月少了{small}块，也没人通知一声，[问谁去|到底怎么算的|这正常吗]",
    "社保卡[丢了|消磁了|芯片坏了|在医院刷不了]，补办去哪里？[要本人去吗|多久能拿到|]",
    "[老人|我父亲|我母亲]{ago}去世了，养老保险个人账户余额和丧葬补助怎么领",
    "我{month_name}就满60了，退休要提前准备哪些材料？[单位说让我自己去办|]",
    "交满多少年社保才能按月领养老金？我现在交了{n}年[，今年52了|]",
    "城乡居民养老保险今年几号截止？[我妈|我爸]想交高一点的档次",
    "{city}和{city2}重复交了{months}社保，多交的那部分能退吗",
    "[老人|我奶奶|我爸]瘫痪在床出不了门，养老金资格认证怎么弄？[能上门吗|手机刷脸行不行]",
    "失业金{ago}在网上申请的，一直显示审核中，[要等多久|是不是卡住了|有人管吗]",
    "工伤认定都{months}了还没下来，这期间没收入，[工资谁发|单位也不管]？",
    "换工作中间社保断了{months}，[有什么影响|影不影响买房]？还能补缴吗",
    "为什么今年社保缴费基数又涨了，[按什么算的|每个月多扣了好几百]？",
    "单位按最低基数给我交社保，跟我实际工资差了一大截，这[合法吗|算不算违规]",
    "退休后要去{city2}跟[女儿|儿子]住，养老金领取地能转过去吗",
    "手机上怎么查养老保险个人账户，[一直查不到|查出来的年限不对|显示的金额对不上]",
    "我在{city}交过{n}年，老家也交过几年，退休时能合并计算吗",
    "领失业金期间[找到新工作了|去{city}上班了]，要[主动去停领吗|自己去申报吗]",
    "我以前在国企干了[十几年|十五年|快二十年]，九几年的视同缴费年限怎么认定？",
    "社保显示{district}这边[欠费|有断缴]，我明明一直是公司代缴的",
]

TEMPLATES["zh"]["household_registration"] = [
    "孩子{date}出生的，新生儿上户口要带什么？[去哪个派出所办|能网上办吗|]",
    "我刚毕业，想落户{city}，[应届生落户|人才引进落户]流程是怎样的？",
    "户口本[丢了|被水泡坏了|被小孩撕了|找不到了]，怎么补办？",
    "老婆户口还在{province}老家，想迁到{city}我这边，夫妻投靠要什么条件",
    "家里[老人|爷爷|奶奶]{ago}去世了，户口注销去哪里办？",
    "离婚后孩子跟我，想把孩子的姓改成跟我姓，[户口上能改吗|要对方同意吗|去哪个派出所办]",
    "{district}户籍业务归哪个派出所管？我刚搬到{street}",
    "集体户口挂在[原单位|人才市场|学校]，现在自己在{district}买了房，怎么迁到自己房子上",
    "户口上的出生日期登记错了，差了[一年|两年|一个月]，[能改吗|要什么证明]",
    "外地人在{district}办居住证需要什么材料？没有租房合同行不行",
    "从{country}留学回国，想在{city}落户，需要准备哪些材料",
    "准迁证是{date}开的，还没去办，过期了怎么办",
    "{city}积分落户今年什么时候开始申报？[要准备哪些材料|分数线多少]",
    "孩子在{country}出生的，回国[怎么上户口|落户要什么材料]",
    "房东不配合办居住登记，[还有别的办法吗|我的居住证怎么办]",
    "离婚了，要从前夫家户口本上迁出来，[去哪办|他不给户口本怎么办|要他本人到场吗]",
    "农村户口转成{city}城镇户口以后，老家的宅基地和承包地还保留吗",
    "想把父母户口迁到{city}跟我一起住，他们都[六十多|七十多]了，符合投靠条件吗",
    "名字里有个生僻字，户籍系统打不出来，[银行卡都办不了|每次办事都很麻烦|高铁票都买不了]",
    "办[签证|出国留学|结婚登记]要户籍证明，[在哪开|派出所能开吗|网上能开吗]？",
    "我都工作{n}年了，想从父母的户口本里分出来单独立户，[可以吗|要什么条件]",
    "户口{date}就迁出来了，{city}那边说查不到信息，现在户口悬空了[怎么办啊|！！|谁来管]",
    "孩子都{kid_age}岁了还没上户口，现在补登记需要什么",
    "买的二手房，原房主户口一直不迁走，[能强制迁出吗|怎么处理|影响我落户吗]",
    "毕业{n}年了户口还在学校，必须迁回原籍吗",
    "户口簿上的[民族|出生地|文化程度]登记错了，[怎么更正|要什么材料]",
]

TEMPLATES["zh"]["housing_provident_fund"] = [
    "在{city}租房，[怎么提取公积金付房租|租房提取公积金要什么材料|没有租房合同能提公积金吗]？",
    "房子总价{price}，[首套|二套]公积金贷款最多能贷多少？",
    "公司{months}没给我交公积金了，[找谁投诉|怎么办|能去哪里反映]",
    "[离职了|辞职了]也不在{city}待了，[要回老家了，|]公积金能全部取出来吗",
    "换工作从{city}到了{city2}，公积金怎么异地转移",
    "公积金[提取申请|租房提取|贷款申请]被退回了，也没说什么原因，[帮忙查一下|怎么办]",
    "[父母|我老公|我老婆|儿子]的房贷能用我的公积金还吗",
    "公司公积金只按{low_pct}%交，这个比例是不是太低了",
    "[下个月|{month_name}]退休，公积金销户提取要带什么",
    "[去年|今年6月]公积金结息感觉算错了，在哪能查明细",
    "我在{district}开个体店，能自己缴公积金吗",
    "我们{date}签的购房合同，公积金贷款审批要多久",
    "{district}老小区加装电梯，分摊的钱能用公积金提取吗",
    "公司[合并以后|改制以后|换了名字以后]，公积金账户余额变成零了，[钱去哪了|吓死我了|怎么回事]",
    "外籍员工在{city}工作，单位必须给交公积金吗",
    "首套房能用商贷加公积金组合贷款吗[，在{city}|]",
    "{district}公积金中心周六上班吗？平时请不了假",
    "[在{city}|]租房提取公积金多久能取一次？按月还是按年",
    "公积金贷款想提前还[一部分|{amount_big}|清]，要预约吗？有没有违约金",
    "家里人得了大病，手术要{amount_big}，公积金能提出来用吗[，要什么证明|]",
    "我和老公在{district}买了二手房，两个人的公积金都能提取吗",
    "公积金绑定的银行卡[换了|丢了|注销了]，[怎么改|在哪改]",
    "[公司说|老板说|人事跟我说]公积金自愿交，不交就多发点工资，这样合法吗",
    "[买房|办贷款|办签证]要公积金缴存证明，在哪开",
    "上家公司离职后公积金封存了，新单位怎么启封",
    "交了{n}年公积金一直没买房，这钱还能干嘛用",
]

TEMPLATES["zh"]["traffic_violation"] = [
    "{date}在{street}被拍超速，那天车根本不是我开的，[我在出差|车一直停在小区里]",
    "违章罚款{fine}，怎么在网上交？",
    "车停在{district}{street}被拖走了，去哪提车？要带什么",
    "{street}和{street2}路口拍我闯红灯，明明是黄灯过的",
    "驾照今年已经扣了{points}分，怎么查还剩多少分",
    "收到短信说我有[违停|超速|闯红灯]没处理，还带个链接，是不是诈骗？",
    "送[老人|孩子|我妈]去{hospital}，门口停了两分钟就被贴条，能申诉吗",
    "电子警察拍的违章[觉得拍错了|明显不对]，怎么申诉",
    "说我占用公交车道，{street}那段根本没有标志！",
    "有人套我的牌，我车在家，{city}那边一直给我发违章",
    "斑马线没礼让行人，罚多少钱扣几分？[{date}被拍的|]",
    "[{date}的|上个月的]违章多久不处理会有滞纳金",
    "电动车没上牌，在{street}被交警扣了，怎么取回来",
    "{street}新装了测速，限速牌被树挡住了根本看不见，[这不是坑人吗|好多人被罚]",
    "驾照12分[扣满了|{ago}扣完了]，要重新考科目一吗",
    "在{street}等红灯的时候看了一眼手机被拍了，这也算违章？",
    "准备[卖车|把车过户给我弟|把车卖到{city}]，怎么查有没有没处理的违章",
    "同一个位置一天被贴了两张罚单，{time}一张，过两小时又一张，合理吗",
    "开单位的车[出了违章|{date}被拍了]，是我处理还是单位处理",
    "在{district}查车的时候驾驶证被暂扣了，给了张单子，接下来要干嘛",
    "[违章|这个罚单|{fine}的罚款]能在手机APP上处理吗？还是必须去交警大队",
    "尾号限行那天是法定节假日，怎么还被罚了[{fine}|]",
    "{city2}牌照，早高峰进{city}市区被拍了，要办通行证吗",
    "违章照片上的车型跟我的车都不一样，是不是车牌识别错了",
    "朋友借我车在{street}违章了，能让他自己去处理扣他的分吗",
    "驾照[快到期了|过期了两个月]，还有违章没处理，能换证吗",
]

TEMPLATES["zh"]["business_license"] = [
    "想在{district}开个[奶茶店|小饭馆|便利店|理发店|花店]，营业执照怎么办？",
    "个体户营业执照能不能网上办？[还是必须去窗口|要多久|]",
    "公司搬到{street}了，注册地址变更要怎么弄",
    "公司{ago}就不经营了，注销要走哪些流程",
    "公司[被列入经营异常名录了|上了异常名录]，[怎么移出来|影响贷款吗|要罚款吗]",
    "营业执照材料交上去了，一般多久能下来[，{district}这边|]",
    "卖[熟食|咖啡|卤菜|自制蛋糕]除了营业执照，还要办食品经营许可证吗",
    "企业年报忘了报，过了6月30号了[怎么办|会罚款吗|还能补吗]",
    "{district}的住宅能注册公司吗？我想用家里地址",
    "公司法人变更需要带哪些材料[，在{district}办|]",
    "营业执照正本[丢了|损坏了]，补办流程是什么",
    "经营范围想增加[进出口|食品销售|软件开发]，要去哪办",
    "电子营业执照能用来[开对公账户|签租房合同|办税]吗？[还要不要带纸质的|对方认不认]",
    "我身份证被人冒用注册了公司，我根本不知道！[怎么撤销|会不会影响我征信]",
    "在{district}夜市摆摊需要办营业执照吗",
    "公司核名没通过，说跟别人名字太像了，[怎么办|能申诉吗]",
    "在{city2}开分公司，要单独办营业执照吗",
    "{district}市场监管局企业登记窗口在哪",
    "在网上开小店卖[手工饰品|自家做的零食|二手书]，需要办营业执照吗",
    "买下了合伙人{pct}%的股份，股东变更登记怎么做",
    "外国人能当内资公司的[法人|股东|董事]吗",
    "个体户想转成公司，执照能直接变更吗，还是要先注销",
    "注册资本[一百万|五十万|三百万]认缴的，五年内必须缴足吗",
    "有中介说{amount}包办营业执照，有必要吗，自己办收费吗",
    "营业执照上的字号想改一下，[要重新办执照吗|需要什么材料]",
    "和[几个朋友|我姐]开[工作室|培训班|小作坊]，注册合伙企业好还是有限公司好",
]

TEMPLATES["zh"]["tax"] = [
    "个税年度汇算怎么办？是不是6月30号截止[，我还没弄|]",
    "去年个税多交了{amount}，怎么申请退税",
    "在{city}租房，每月房租{amount}，能抵个税吗",
    "[小店|饭馆|修车铺]想给顾客开发票，个体户发票怎么开",
    "个税APP里有一笔收入，是一家我从来没去过的公司申报的，[是不是身份证被冒用了|怎么处理]",
    "[子女教育|孩子上学]和赡养老人专项附加扣除怎么填",
    "收到{district}税务局的通知，说我逾期未申报，怎么办",
    "{city}卖房要交哪些税？房子买了{n}年",
    "小规模纳税人月销售额多少以下免增值税？[我们一个月卖{amount_big}左右|]",
    "年终奖扣税太多了，[能退一部分吗|是怎么算的]",
    "新买的[车|电车]购置税在哪里交",
    "做自由[翻译|设计|摄影]，收入来自好几家客户，税怎么报",
    "个税汇算提交了发现[填错了|漏了一项扣除]，能更正吗",
    "退税从{date}到现在一直显示处理中",
    "首套房契税税率多少？面积{size}平",
    "刚拿到营业执照，税务登记怎么办[，店在{district}|]",
    "开个税完税证明[办签证|办房贷|落户]用，网上能打印吗",
    "银行[存款利息|理财收益]要交税吗",
    "供应商给的发票是假的，进项税怎么处理，要不要举报",
    "为什么我有{small}块滞纳金，我明明按时申报了",
    "[劳务报酬|讲课费|稿费]被预扣了20%，年底汇算能退回来吗",
    "公司申报的工资比实际发的高，个税多交了，[找谁|怎么改]",
    "在{district}有个商铺出租，房产税怎么算",
    "[我妈|我爸]今年看病花了{amount_big}，大病医疗能在个税里扣除吗",
    "公司连续{months}零申报，会有什么问题吗",
    "外籍人员[在{city}工作|]，住房补贴、子女教育费要交个税吗",
]

TEMPLATES["zh"]["medical_insurance"] = [
    "在{city}住院了，回来以后医保怎么报销",
    "医保卡在{street}的药店刷不了，[是不是被冻结了|怎么回事]",
    "今年城乡居民医保[交多少钱|小孩交多少|老人交多少]？什么时候截止",
    "退休的[父母|我妈|我爸]能挂在我的职工医保上吗",
    "[我妈|我爸]要来我这边长住，异地就医备案怎么弄",
    "[这个靶向药|胰岛素|九价HPV疫苗|做针灸]医保能报吗",
    "[我妈|我爸|我奶奶]今年居民医保没交，断了，现在还能补交吗",
    "医院收了{amount}，说医保不报，怎么查哪些是自费项目",
    "[手机上的|给老人弄]医保电子凭证怎么激活",
    "[糖尿病|高血压]门诊慢特病怎么申请",
    "外国人在{city}工作，能参加职工医保吗",
    "医保个人账户里的钱莫名其妙少了{small}块",
    "医保个人账户的钱能给[老婆|老公|孩子]买药吗",
    "宝宝{date}出生的，新生儿医保怎么参保",
    "做手术花了{amount_big}，大病保险能报多少",
    "{district}的私人诊所补牙能用医保吗",
    "{street}那家诊所每次都说系统坏了，不给刷医保",
    "{ago}换的工作，医保断了一个月，会影响报销吗",
    "在{country}旅游看急诊花的钱，回来能报销吗",
    "生孩子医保能报多少？产检有补贴吗[，在{hospital}生的|]",
    "[儿子|女儿]在[{city}|外地]读大学，大学生医保在哪交",
    "三甲医院住院报销比例是多少[，{city}的|]",
    "我的医保卡被人盗刷买药了，[怎么冻结|请帮忙查一下]",
    "救护车的费用医保报不报？收了{small}块",
    "[快|明年]退休了，医保还要继续交吗？要交满多少年",
    "[社区医院|门诊]有起付线吗？一年最多能报多少",
]

TEMPLATES["zh"]["complaint_report"] = [
    "{street}那个工地每天{time}还在施工，吵得根本睡不着",
    "{street}有家饭店每天晚上往下水道倒地沟油，[我拍了视频|麻烦查一下]",
    "举报{community}{num}栋楼顶有人搭违建，{date}开始动工的",
    "{date}去{district}政务服务中心办事，窗口工作人员态度太恶劣了，我要投诉",
    "楼下[KTV|酒吧|麻将馆]天天吵到凌晨三点，[这归谁管|打电话也没用]？",
    "在{district}一家超市买到[过期牛奶|变质的猪肉|假奶粉]，超市还不承认",
    "{district}有个厂子天天冒黑烟，一股化学味，[根本不敢开窗|孩子一直咳嗽]",
    "{ago}打12345反映过[噪音|消防通道堵塞|乱停车]的问题，到现在没人回复",
    "{park}公园流浪狗特别多，追着小孩跑，能不能管一管",
    "{street}地铁口每天晚上小摊贩把人行道全占了",
    "培训机构收了几十个家长{amount_big}学费，现在人跑了，去哪举报",
    "[{street}|我们]巷子里的垃圾一个星期没人清了，臭得不行",
    "{street}旁边空地上天天有人烧垃圾，烟都飘到家里了",
    "{park}公园的广场舞早上六点就开始，音响开得震天响",
    "[{street}的|]手机店把翻新机当新机卖给我，还不给退",
    "{street}那家药店不要处方就卖处方药",
    "{community}楼道里贴满了[办证、贷款的小广告|开锁通下水道的广告]，[没人管吗|清了又贴]",
    "{street}学校门口有个大坑，[今天已经摔了两辆电动车|迟早要出事]",
    "[邻居|楼下那户|隔壁]在阳台上养鸡，味道太大了，说了也不听",
    "在{district}[办事的时候|政务大厅]工作人员暗示要给好处费才能快点办，我要举报",
    "{district}一个停车场半个小时收了我{small}块，明显乱收费",
    "{community}门口的烧烤摊油烟太大，整栋楼都是味",
    "楼上装修，周末早上[七点|六点半]就开始打电钻，[没人管吗|物业也不管]",
    "[{street}|]一家外卖店没有证照，后厨脏得要命，我们全家吃完都拉肚子",
    "{community}后面的河有人偷偷排污水，河水都变黑了",
    "{street}有个无证的美容院给人打针，我朋友脸都感染了",
]

TEMPLATES["zh"]["utilities"] = [
    "{community}从{time}开始停水，有没有通知啊",
    "{street}停电{hours}个小时了，什么时候能来电",
    "{month}电费{amount}，比平时高了好几倍",
    "{community}{num}栋楼道里煤气味很大，[赶紧派人来看看|现在该怎么办]",
    "[在{district}|]买的二手房，水电燃气怎么过户到我名下",
    "{district}的自来水今天[发黄|浑浊|有股怪味]，还能喝吗",
    "燃气欠费被停了，我{date}就交了，怎么还没恢复",
    "暖气一点都不热，屋里才[十几度|十四度|十二度]，家里还有刚出生的孩子",
    "[水费|电费|燃气费]怎么在网上交",
    "{community}高层水压太小了，洗澡都出不来水",
    "停电通知说{ddl}{district}要停电，具体几点到几点",
    "电表里明明还有[钱|{small}多块]，怎么突然断电了",
    "燃气公司说要换表，收{small}块钱，这个合理吗",
    "{street}自来水管爆了，水都漫到马路上了！",
    "家里[六|七|八]口人[，老人孩子都住一起|]，能申请阶梯电价调整吗",
    "我们[整栋楼|{community}]一到晚上就跳闸，是不是供电有问题",
    "{district}新房子开通燃气找谁",
    "今年取暖费{amount}，是按什么算的",
    "设置了自动扣费，[水费|燃气费|电费]还是产生了滞纳金[，{small}块|]",
    "{community}院子里下水道堵了，污水都冒出来了",
    "[低保户|残疾人家庭|困难家庭]水电费有没有减免",
    "房东没交电费被停电了，我是租客，[怎么办|能不能先给我恢复]",
    "这周{district}天天下午停电，冰箱里的东西都坏了",
    "明天{district}停水，怎么查我们楼在不在停水范围",
    "燃气灶打不着火，邻居家也一样，是不是燃气管道出问题了[，{community}{num}栋|]",
    "[{city}郊区|]村里电压一直不稳，灯一闪一闪的，电器都烧坏两个了",
]

TEMPLATES["zh"]["education_enrollment"] = [
    "孩子今年上一年级，我们是外地户口，在{district}怎么报名",
    "[一年级|幼儿园|初一]入学报名要准备哪些材料[，{district}的|]",
    "住在{community}，对口的初中是哪所",
    "{district}幼儿园什么时候开始报名",
    "孩子是外籍，能在{city}上公办学校吗",
    "刚从{city2}搬过来，孩子学期中间转学怎么办",
    "学区划分又变了，我们小区去年还是{school}的，今年就不是了",
    "只有居住证没有房产证，孩子[能报名上学吗|能在{district}上公办吗]",
    "入学报名系统一直登不上去，{ddl}就截止了！",
    "非户籍子女入学积分怎么算[，{city}的|]",
    "孩子9月[2号|5号|1号]生日，今年能上一年级吗",
    "[民办学校|幼儿园|初中]摇号结果什么时候出",
    "随迁子女上公办学校要额外交钱吗[，在{city}|]",
    "{district}哪些学校能接收[自闭症|听力障碍]的孩子",
    "租房合同没备案，学校说不能入学，[怎么办|现在补还来得及吗]",
    "能不能按工作单位地址在[{district}|那边]报名上学",
    "从[外省|{province}]回来的学生，中考报名什么时候",
    "{date}申请的幼儿园学位，到现在都没消息",
    "入学的时候要查预防接种证吗[，我们的丢了|，是在老家打的]",
    "{street}附近的公办幼儿园还有学位吗",
    "双胞胎[上一年级|上幼儿园]能分到同一个学校吗",
    "学校让交{amount}赞助费才能入学，这合法吗",
    "孙子跟我们住，他爸妈在{city2}打工，孩子在这边能上学吗",
    "入学信息核验说户籍信息对不上，[怎么办|{ddl}就截止了]",
    "小升初派位结果不满意，[可以申诉吗|能换学校吗]",
    "孩子在{country}读完小学，回来能上初中吗，读几年级",
]

TEMPLATES["zh"]["public_transport"] = [
    "在{stop}站等{bus}等了四十分钟都没来",
    "{bus}司机态度太差了，不让我妈上车",
    "65岁以上老人在{city}坐公交免费吗？老年卡怎么办",
    "[书包|笔记本电脑|雨伞|手机]落在{metro}上了，大概{time}，去哪找",
    "能不能在{community}附近加个公交站？最近的站要走二十分钟",
    "早高峰{metro}太挤了，能不能加开几趟车",
    "交通卡在{station}站被扣了两次钱",
    "{metro}末班车是几点[，{station}站|]",
    "{bus}为什么停运了？我们好多人都靠它上班",
    "[机场|火车站]的出租车不打表，要了我{fare}",
    "{street}公交站牌上的时间不对",
    "[学生|大学生|初中生]交通卡怎么办，能打折吗",
    "{bus}的无障碍踏板坏了，轮椅上不去",
    "{bus}司机开得太猛了，今天一个老太太摔倒了",
    "{station}站B口的扶梯坏了好几个礼拜了",
    "{district}到火车站有没有夜班车",
    "{bus}大夏天不开空调，车里三十五度",
    "共享单车堆在{station}站出口，路都堵死了",
    "网约车司机故意绕路，[车费多收了一倍|多收了我{fare}]",
    "旧公交卡的押金怎么退[，{city}的卡|]",
    "{bus}首班车能不能早一点？我六点就要上班",
    "[明天|今晚|这周末]台风，地铁还开吗",
    "周末{bus}为什么不停{stop}站了",
    "{bus}车上有人抽烟，司机也不管",
    "{station}地铁站早上安检排队太长了，能不能多开几个口",
    "外地游客在{city}能用手机扫码坐公交吗",
]

TEMPLATES["zh"]["id_documents"] = [
    "身份证{date}到期，去哪换？",
    "身份证在{district}丢了，第一步该干嘛",
    "在{city}办护照要多久",
    "户口在{province}，在{city}能办港澳通行证吗",
    "{soon}要坐火车，身份证丢了，临时身份证在哪办",
    "小孩要办身份证吗？我[女儿|儿子]{age}岁",
    "[我爸|我奶奶]行动不便，护照能代办吗",
    "身份证照片太丑了，[能重新拍吗|换证的时候能自己带照片吗]",
    "在{country}旅游护照丢了，怎么回国",
    "去{district}出入境大厅办证要预约吗",
    "[台湾通行证|港澳通行证]签注怎么办，{when}就要走了",
    "身份证芯片坏了，[车站闸机|酒店前台|银行]刷不了",
    "电子身份证[住酒店|坐高铁|去银行办业务]能用吗",
    "新身份证办好了，人在[外地出差|{city}]，能让家里人代领吗",
    "办护照要多少钱，能手机支付吗",
    "身份证能邮寄到家吗[，我住{district}|]",
    "我是国企员工，办护照要单位审批吗",
    "港澳通行证签注用完了，自助机上能续签吗",
    "在{street}捡到一张身份证，交到哪里",
    "[儿子|女儿]16了，第一次办身份证要带什么",
    "外籍配偶的签证{when}到期，去哪里延期",
    "户口上改了名字，身份证和护照也要换吗",
    "护照还有{months_short}就到期了，出国会受影响吗",
    "户口在{city2}，能在这边补办身份证吗",
    "外国人居留许可{when}到期，续签要什么材料",
    "护照{ago}申请的，一直显示制证中，还要多久",
]

TEMPLATES["zh"]["housing_property"] = [
    "{community}交房已经推迟{months}了，开发商一直拖着不给说法",
    "房贷还清了，不动产证怎么[解押|注销抵押]",
    "公租房申请条件是什么？我月收入{amount}",
    "[{community}的|我们小区]物业没经过业主同意就涨物业费",
    "房东不退押金{amount}，房子我都打扫得干干净净",
    "[{district}|]租房合同备案去哪里办",
    "父母在{district}的房子继承过户要哪些材料",
    "{district}老旧小区改造什么时候开工",
    "楼上漏水[漏到厨房了|把天花板泡坏了|都{weeks}个星期了]，找物业也不管",
    "[{district}|我们村]拆迁补偿太低了，跟市场价差一大截",
    "买二手房之前怎么查房子有没有抵押、查封",
    "{city}大学生人才住房补贴怎么申请",
    "房产证上想加[老婆|老公]的名字，怎么办",
    "[{community}的|]开发商说不动产证还要再等一年，说是土地有问题",
    "外地户口在{city}能买第二套房吗",
    "电梯坏了{weeks}个星期了，维修资金怎么申请使用",
    "{community}业委会选举谁来监督？感觉有猫腻",
    "不动产证上的面积比合同上少了{size_small}平",
    "合同还没到期，房东就要涨租{pct}%，合理吗",
    "[{district}|]二手房过户买卖双方都要到场吗",
    "物业因为我们没交停车费，把门禁卡给停了[，{community}的|]",
    "[{city}|]保障房排队要等多久",
    "我想把[{district}的|]房子隔成几间分开租，政策允许吗",
    "新房刚交房墙就开裂了，开发商不给修[，{community}的|]",
    "[{community}的|]开发商车位只租不卖，这样合理吗",
    "小区原来的物业[撤了|{month}就走了]，现在没人管，怎么办",
]

TEMPLATES["zh"]["employment_labor"] = [
    "在{company}干了{months}，老板还欠我{amount_wage}工资",
    "干了{n}年被公司辞退，一分钱补偿都没有",
    "公司一直不跟我签劳动合同，都干了{months_short}了",
    "[一天干12个小时，一周六天|天天从早八点干到晚十点|每个周末都要上班]，一分钱加班费没有",
    "{district}劳动仲裁在哪申请？要带什么",
    "包工头跑了，我们{num}个工人的工钱没着落，工地在{district}",
    "休产假期间公司把我工资降了[一半|三分之一|]，[合法吗|能去哪告]",
    "签一年合同，试用期[六个月|五个月|四个月]，这合法吗",
    "公司逼我主动辞职，还不给开离职证明",
    "{district}哪里有免费的职业技能培训或者招聘会",
    "公司想招一个外国[工程师|外教|厨师]，工作许可怎么办",
    "年假被公司取消了，也不给折现",
    "我是外卖骑手，平台超时一单就扣{small}块",
    "我[五十五|五十二|五十七]了，厂里说我年纪大了让我走人，能这样吗",
    "{city}今年最低工资标准是多少",
    "公司扣着我的身份证，说干满合同才还给我",
    "劳务派遣的，干一样的活，工资只有正式工一半",
    "[春节|国庆]被安排加班，没给三倍工资",
    "公司每个月从工资里扣[培训费|{small}块培训费]，合理吗",
    "{ago}失业了想找工作，人社部门能提供什么帮助",
    "学校安排实习，[实习单位|{company}]一分钱不给",
    "公司要搬到[外地|{city2}]，说不去就算自动离职，没有补偿",
    "{ago}离职的，签了竞业限制，公司一直没给补偿金[，这合理吗|，怎么要]",
    "大学生创业补贴怎么申请[，在{city}|]",
    "公司发工资总是拖到下个月底，算不算拖欠工资",
    "工头说工钱年底一起结，都{months}没发了，饭都吃不上了",
]

# --------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------
ALT_RE = re.compile(r"\[([^\[\]]*)\]")
SLOT_RE = re.compile(r"\{(\w+)\}")

OPENERS = {
    "en": ["Hello. ", "Hi! ", "Good morning. ", "Hi there. ", "Good afternoon. ", "Hello, "],
    "zh": ["你好，", "您好，", "喂，你好，", "打扰一下，", "您好！", "你好，请问一下，"],
}
CLOSERS = {
    "en": [" Thanks.", " Thank you.", " Please help.", " Thanks in advance.", " Please advise.",
           " Thank you very much."],
    "zh": ["谢谢", "谢谢！", "麻烦了", "麻烦帮忙查一下", "急！", "谢谢了"],
}
# Intent-neutral context callers add (where they live, that it is urgent...).  Only used for
# templates that name no place themselves; never part of the de-duplication key.
CONTEXT_PREFIX = {
    "en": ["I live in {district}. ", "I'm calling from {district}. ", "I'm in {city}. "],
    "zh": ["我住{district}，", "我是{district}的，", "我在{city}，"],
}
CONTEXT_SUFFIX = {
    "en": [" I've called about this before.", " It's urgent.", " Can someone call me back?",
           " I've already asked twice and got no clear answer."],
    "zh": ["，之前打过一次了", "，急", "，能回个电话吗", "，在线等", "，问了好几个地方都说不清楚"],
}
PLACE_SLOTS = ("{district}", "{city}", "{community}", "{road}", "{street}", "{station}")
ZH_END_PUNCT = "。！？!?…"


def _pool(name: str) -> str:
    """``city2`` -> ``city``: numbered slots share the pool of the base slot."""
    return name.rstrip("0123456789")


def render(template: str, lang: str, rng: random.Random) -> str:
    """Expand ``[a|b]`` alternatives and ``{slot}`` values of one template."""
    text = ALT_RE.sub(lambda m: rng.choice(m.group(1).split("|")), template)
    chosen: dict[str, str] = {}

    def fill(m: re.Match) -> str:
        name = m.group(1)
        if name not in chosen:
            used = {v for k, v in chosen.items() if _pool(k) == _pool(name)}
            pool = SLOTS[lang][_pool(name)]
            chosen[name] = rng.choice([v for v in pool if v not in used])
        return chosen[name]

    text = SLOT_RE.sub(fill, text)
    if lang == "en":
        text = re.sub(r"\s+", " ", text)
        text = re.sub(r" ([,.?!])", r"\1", text)
    else:
        text = re.sub(r"\s+", "", text)
        text = text.replace("，，", "，").replace("，？", "？")
    return text.strip()


def norm_key(text: str) -> str:
    """Key used for de-duplication: case- and punctuation-insensitive."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


def length_ok(text: str, lang: str) -> bool:
    lo, hi = LENGTH_LIMITS[lang]
    n = len(text.split()) if lang == "en" else len(text)
    return lo <= n <= hi


def decorate(core: str, template: str, lang: str, rng: random.Random) -> str:
    """Add the context, greetings, thanks and casual styling real hotline messages have."""
    text = core
    if rng.random() < 0.14:
        if rng.random() < 0.5 and not any(p in template for p in PLACE_SLOTS):
            prefix = render(rng.choice(CONTEXT_PREFIX[lang]), lang, rng)
            text = prefix + (" " if lang == "en" else "") + text
        else:
            suffix = rng.choice(CONTEXT_SUFFIX[lang])
            if lang == "en":
                text = text + suffix if text[-1] in ".?!" else text
            else:
                if text[-1] in "？！?!":
                    text = text + suffix[1:]
                else:
                    text = (text[:-1] if text[-1] == "。" else text) + suffix
        if not length_ok(text, lang):
            text = core
    if lang == "en" and rng.random() < 0.08:
        # Casual, all-lowercase chat message without the final full stop.
        return text.lower().rstrip(".")
    if rng.random() < 0.22:
        opener = rng.choice(OPENERS[lang])
        if lang == "en" and opener.endswith(", ") and not re.match(r"I\b", text):
            text = opener + text[0].lower() + text[1:]
        else:
            text = opener + text
    if rng.random() < 0.22:
        closer = rng.choice(CLOSERS[lang])
        if lang == "en":
            if text[-1] in ".?!":
                text = text + closer
        else:
            text = text + ("" if text[-1] in ZH_END_PUNCT else "，") + closer
    return text if length_ok(text, lang) else core


def split_templates(lang: str, intent: str, n: int) -> dict[str, list[int]]:
    """Assign each template index to exactly one split (~70/15/15 of templates)."""
    idx = list(range(n))
    random.Random(f"{SEED}:{lang}:{intent}:templates").shuffle(idx)
    n_test = max(3, round(n * 0.15))
    n_val = max(3, round(n * 0.15))
    return {
        "test": sorted(idx[:n_test]),
        "validation": sorted(idx[n_test:n_test + n_val]),
        "train": sorted(idx[n_test + n_val:]),
    }


def generate_rows(lang: str, intent: str, templates: list[str], idxs: list[int], target: int,
                  seen: set[str], rng: random.Random) -> list[dict]:
    """Round-robin over the split's templates until ``target`` unique rows exist."""
    rows: list[dict] = []
    active = list(idxs)
    accepted: dict[int, list[str]] = {i: [] for i in idxs}
    while len(rows) < target and active:
        for i in list(active):
            if len(rows) >= target:
                break
            for _ in range(40):
                core = render(templates[i], lang, rng)
                key = norm_key(core)
                if key in seen or not length_ok(core, lang):
                    continue
                # Near-duplicate guard: a row must differ clearly from the rows already drawn
                # from the same template (not just one short optional phrase).
                if any(SequenceMatcher(None, key, k).ratio() >= NEAR_DUP_RATIO
                       for k in accepted[i]):
                    continue
                seen.add(key)
                accepted[i].append(key)
                rows.append({"text": decorate(core, templates[i], lang, rng), "label": intent,
                             "lang": lang})
                break
            else:
                active.remove(i)  # template exhausted: no new unique variant found
    return rows


def build_hotline() -> dict[str, dict[str, list[dict]]]:
    data: dict[str, dict[str, list[dict]]] = {}
    for lang in LANGS:
        seen: set[str] = set()
        data[lang] = {s: [] for s in SPLITS}
        for intent in INTENTS:
            templates = TEMPLATES[lang][intent]
            assignment = split_templates(lang, intent, len(templates))
            for split in SPLITS:
                rng = random.Random(f"{SEED}:{lang}:{intent}:{split}:rows")
                data[lang][split].extend(generate_rows(
                    lang, intent, templates, assignment[split], HOTLINE_TARGET[split], seen, rng))
        for split in SPLITS:
            random.Random(f"{SEED}:{lang}:{split}:shuffle").shuffle(data[lang][split])
    return data


def build_faq() -> dict[str, dict[str, list[dict]]]:
    data: dict[str, dict[str, list[dict]]] = {}
    for lang in LANGS:
        data[lang] = {s: [] for s in SPLITS}
        for intent in INTENTS:
            pairs = FAQ[lang][intent]
            idx = list(range(len(pairs)))
            random.Random(f"{SEED}:{lang}:{intent}:faq").shuffle(idx)
            n_test = max(1, round(len(idx) * 0.1))
            n_val = max(1, round(len(idx) * 0.1))
            parts = {"test": idx[:n_test], "validation": idx[n_test:n_test + n_val],
                     "train": idx[n_test + n_val:]}
            for split, ids in parts.items():
                for i in sorted(ids):
                    q, a = pairs[i]
                    data[lang][split].append({
                        "messages": [
                            {"role": "system", "content": FAQ_SYSTEM_PROMPT[lang]},
                            {"role": "user", "content": q},
                            {"role": "assistant", "content": a},
                        ],
                        "lang": lang,
                        "intent": intent,
                    })
        for split in SPLITS:
            random.Random(f"{SEED}:{lang}:{split}:faq-shuffle").shuffle(data[lang][split])
    return data


def to_jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")

# --------------------------------------------------------------------------------------
# FAQ pairs for instruction tuning (hand-written; generic, no real phone numbers but 12345)
# --------------------------------------------------------------------------------------
FAQ_SYSTEM_PROMPT = {
    "en": ("You are an agent of the 12345 citizen service hotline. Answer politely, briefly and "
           "concretely, and tell the caller which office, documents or online channel to use."),
    "zh": "你是12345政务服务便民热线的客服人员。请礼貌、简洁、具体地回答市民的问题，并告诉对方应找哪个部门、准备哪些材料或使用哪个线上渠道。",
}

FAQ: dict[str, dict[str, list[tuple[str, str]]]] = {"en": {}, "zh": {}}

FAQ["en"]["social_insurance"] = [
    ("How do I transfer my pension insurance from another city to where I work now?",
     "You can apply at the social insurance agency where you are now insured, or online through the national social insurance public service platform. The two agencies transfer your records and funds between themselves, so you don't need to go back to your old city."),
    ("I lost my job. Can I get unemployment benefits?",
     "If you and your employer paid unemployment insurance for at least one year and you did not leave voluntarily, you are generally eligible. Please register as unemployed at your district human resources and social security office or on the local social insurance app, with your ID card and termination certificate."),
    ("How do I apply for work injury recognition?",
     "Your employer should apply within 30 days of the accident; if it doesn't, you or your family can apply directly to the human resources and social security bureau within one year. Please prepare your ID, medical records and proof of your employment relationship."),
    ("Where can I print my social insurance contribution record?",
     "You can print it at the self-service machines in any social insurance service hall, or download an electronic record with a verification code from the local social insurance app or website. Most banks and schools accept the electronic version."),
    ("How many years do I need to contribute to get a pension?",
     "At present you need at least 15 years of cumulative contributions to receive a monthly basic pension, and this minimum will be raised gradually under national policy. If you are short, you may be able to keep contributing after retirement age; your social insurance agency can check your record."),
    ("My elderly mother is bedridden. How does she do the annual pension qualification check?",
     "She can complete facial recognition on the local social insurance app, and you may help her operate it. If that doesn't work, please contact her community service center or the social insurance agency to request a home visit."),
    ("My employer has not paid my social insurance for several months. Where can I complain?",
     "Please take your labor contract, pay slips or other proof of employment to the labor inspection office of the human resources and social security bureau where the company is located. You can also report it through 12345 and we will forward it to the responsible department."),
    ("I'm a freelancer. Can I pay social insurance by myself?",
     "Yes. Flexible workers can register for basic pension and medical insurance as individuals at the social insurance agency or on its app, choosing a contribution base within the local range. Payments are usually made by bank deduction or through the tax app."),
    ("How do I replace a lost social security card?",
     "First report the loss on the social insurance app, the electronic social security card or at a service hall. Then apply for a new card with your ID at a cooperating bank branch or the social insurance service center; many cities also accept online applications with postal delivery."),
    ("A family member died. How do we claim the funeral allowance and the pension account balance?",
     "Please bring the death certificate, the hukou cancellation proof, the deceased's ID and social security card, and the heir's ID and proof of relationship to the social insurance agency. The funeral allowance and the individual account balance will be paid to the heir's bank account."),
]

FAQ["en"]["household_registration"] = [
    ("What do I need to register my newborn's hukou?",
     "Please bring the baby's birth medical certificate, both parents' ID cards and household booklets, and your marriage certificate to the household registration window of your local police station. It's best to register within one month of birth, and many cities also accept online applications on the police service app."),
    ("How can a university graduate settle hukou in this city?",
     "Graduates usually apply under the talent settlement policy with their diploma, degree certificate, ID and labor contract. Please check the current conditions on the public security bureau or human resources website, then apply at the police station for the address where you will register."),
    ("Our household booklet is lost. How do we get a new one?",
     "The head of household or a family member can apply for a replacement at the household registration window of the police station with their ID card. It is usually issued on the spot or within a few working days."),
    ("How do I cancel the hukou of a family member who passed away?",
     "Bring the death certificate issued by the hospital or community, the deceased's ID card and the household booklet to the police station where the hukou is registered. The registration will be cancelled and the ID card taken back."),
    ("How do I apply for a residence permit as a non-local resident?",
     "After living here for six months with stable work, housing or study, you can apply at the local police station or community service point with your ID card, a photo and proof of residence such as a registered rental contract. Some cities also accept online applications."),
    ("Can my wife move her hukou to my city after we marry?",
     "Most cities allow spouses to join a hukou under the spousal reunion policy, though some set requirements on marriage length or residence. Please bring your marriage certificate, both IDs and household booklets and proof of housing to the police station where you want to register."),
    ("The date of birth on my hukou is wrong. Can it be corrected?",
     "Yes, but you will need original evidence such as the birth medical certificate or early school records showing the correct date. Apply at the household registration window of your police station; the case may need approval from the public security bureau."),
    ("Can I move my elderly parents' hukou to live with me?",
     "Many cities allow parents above a certain age to join their children's hukou if housing and residence conditions are met. Please check the exact requirements with your local police station or on the public security bureau website before preparing documents."),
    ("My hukou migration certificate has expired. What should I do?",
     "Take the expired certificate and your ID card back to the police station that issued it to have it extended or reissued. After that you can complete registration in the new city."),
    ("Where can I get a household registration certificate for a visa?",
     "You can get a household registration certificate at the police station where your hukou is registered, bringing your ID card and household booklet. In some cities an electronic certificate can also be downloaded from the police service app."),
]

FAQ["en"]["housing_provident_fund"] = [
    ("How do I withdraw my housing provident fund to pay rent?",
     "If you don't own a home in this city, you can apply for a rent withdrawal on the provident fund center's app or website, or at a service counter with your ID and bank card. The frequency and annual limit follow local rules, and the money usually reaches your bank card within a few working days."),
    ("How much can I borrow with a provident fund loan?",
     "The amount depends on your account balance, contribution history, income, the property price and the local ceiling. You can estimate it with the loan calculator on the provident fund app, or bring your purchase contract to a service hall for an assessment."),
    ("My employer isn't paying my provident fund. What can I do?",
     "You can complain to the local housing provident fund management center with proof of employment such as your labor contract or pay slips. The center can order the employer to pay the contributions within a deadline."),
    ("How do I transfer my provident fund account to a new city?",
     "Once your new employer has opened an account for you, apply for the transfer at the new city's provident fund center or through the national housing provident fund mini-program. The balance moves between the two centers, so you don't need to return to the old city."),
    ("Can I withdraw all my provident fund when I retire?",
     "Yes. After retirement you can close the account and withdraw the full balance online or at a provident fund service hall with your ID card and proof of retirement. The money is transferred to your own bank card."),
    ("Can I use my provident fund to pay for an elevator installation in an old building?",
     "Many cities allow owners to withdraw provident fund for their share of elevator installation in old residential buildings. Please bring the installation agreement, payment receipt and your ID to the provident fund center, or check whether the app offers this withdrawal type."),
    ("Is there a penalty for repaying a provident fund loan early?",
     "Generally no penalty is charged for early repayment of a provident fund loan. You can apply on the provident fund app or at the lending bank; some centers ask you to book a few days in advance."),
    ("How do I unseal my provident fund account after changing jobs?",
     "Your new employer can move your sealed account under the company through the online business system or at the service counter. Once it is active again, contributions continue on the same personal account."),
    ("Can self-employed people contribute to the housing provident fund?",
     "In many cities, self-employed and flexible workers can open a voluntary account at the provident fund center with their ID and bank card. The contribution base and rate are chosen within the local limits."),
    ("Where can I get a provident fund contribution certificate?",
     "You can print it at the self-service machines of the provident fund center, or download an electronic certificate with a verification code from the app or website. Banks and developers usually accept the electronic version."),
]

FAQ["en"]["traffic_violation"] = [
    ("How can I pay a traffic fine online?",
     "You can handle violations and pay fines on the official traffic management app of the public security authorities after registering with your ID and driving license. Once payment is made, the record is usually updated within a day or two."),
    ("I think a traffic camera made a mistake. How do I appeal?",
     "You can submit an appeal with supporting evidence on the official traffic management app, or at the traffic police brigade where the violation was recorded. We suggest not paying the fine until the review is finished."),
    ("My car was towed. How do I get it back?",
     "Please contact the traffic police brigade for the area where the car was towed to find out which impound lot it is in. Bring your driving license, vehicle license and ID, handle the violation first, and then collect the car."),
    ("What happens if all 12 points on my license are deducted?",
     "Your license will be held, and you must attend road traffic safety study at the vehicle management office and pass the theory exam. After you pass, the points are cleared and the license is returned."),
    ("When do late fees start on a traffic fine?",
     "If a fine is not paid within 15 days of the penalty decision, an additional 3 percent of the fine is added each day, up to the amount of the fine itself. Please handle it as soon as possible on the app or at a traffic police window."),
    ("Someone is using a fake copy of my license plate. What should I do?",
     "Collect evidence of where your car actually was, such as parking records or dashcam video, and report it to the traffic police where the violations were recorded. After verification the wrong records will be cancelled."),
    ("My e-bike was seized because it had no plate. How do I get it back?",
     "Go to the traffic police unit that seized it with your ID and the purchase receipt. After the violation is handled you will usually need to register the e-bike and get a plate before it is returned."),
    ("Can a friend take the points for a violation on my car?",
     "If your friend was really driving, they can handle the violation with their own license on the app or at a traffic police window. Taking points for a violation someone else committed is illegal and will be penalized."),
    ("How can I check whether my car has unprocessed violations before selling it?",
     "Log in to the official traffic management app to see the vehicle's violation records, or ask at any traffic police service window. All violations must be cleared before the transfer can be registered."),
    ("The traffic police kept my license at a checkpoint. What should I do next?",
     "Keep the seizure notice and go to the traffic police brigade named on it within the time limit, bringing your ID. The license will be returned after the case is handled, unless a suspension applies."),
]

FAQ["en"]["business_license"] = [
    ("How do I apply for a business license for an individual business?",
     "You can apply online through the local government service portal or the market regulation bureau's registration system, or at the registration window of the district government service center. You will need your ID card, proof of the business premises and your intended business scope."),
    ("How long does it take to register a company?",
     "If your documents are complete, most cities issue the business license within one to three working days. You can follow the progress online and choose to collect the license in person or by post."),
    ("How do we deregister a company?",
     "First settle taxes and debts, then apply through the enterprise deregistration online platform or at the market regulation bureau. Companies without debts can use the simplified procedure after a 20-day public notice."),
    ("What happens if we miss the annual report?",
     "Annual reports are filed between January 1 and June 30 on the National Enterprise Credit Information Publicity System. A company that misses it is put on the abnormal operations list, and can apply for removal after filing the overdue report."),
    ("Do I need a food business permit as well as a business license?",
     "Yes, selling food or drinks generally requires a food business permit in addition to the business license, which you apply for at the market regulation bureau. For prepackaged food only, a simple filing may be enough."),
    ("How do I change my company's registered address?",
     "Apply for a change registration online or at the market regulation bureau with the shareholder resolution, proof of the new premises and the original license. If you move to another district, your registration file may also need to be transferred."),
    ("Someone registered a company with my ID without my consent. What should I do?",
     "Submit a written application with your ID to the market regulation bureau where the company is registered to have the fraudulent registration revoked. You can also report the identity theft to the police."),
    ("Can I use my home as my company's registered address?",
     "It depends on local rules; some cities allow residential addresses for certain low-impact businesses, sometimes with consent from neighbours or the residents' committee. Please check with the district market regulation bureau before applying."),
    ("Is the electronic business license legally valid?",
     "Yes, the electronic business license has the same legal effect as the paper original. You can download it through the official electronic business license app and use it for bank, tax and other procedures."),
    ("How do we change the legal representative of our company?",
     "Submit the change application, the shareholder or board resolution, the new representative's ID and the original license to the market regulation bureau, online or at the counter. A new license is issued after approval."),
]

FAQ["en"]["tax"] = [
    ("When is the annual individual income tax reconciliation?",
     "The reconciliation runs from March 1 to June 30 of the following year. You can complete it yourself on the individual income tax app, and any refund is paid to the bank card you registered."),
    ("Can I claim my rent as a tax deduction?",
     "If you rent in the city where you mainly work and neither you nor your spouse owns a home there, you can claim the housing rent special additional deduction. Add it in the individual income tax app, either monthly through your employer or in the annual reconciliation."),
    ("How do I get an income tax payment certificate?",
     "You can download your individual income tax payment record from the individual income tax app or website, or print it at a tax service hall. It carries a verification code, so most embassies and banks accept it."),
    ("What taxes do I pay when selling my home?",
     "It depends on how long you have owned it and whether it is your family's only home; value-added tax and individual income tax may apply, and the buyer pays deed tax. The tax window at the real estate transaction center can calculate the exact amount."),
    ("Do I need to register with the tax bureau after getting a business license?",
     "In most places your license information is shared with the tax authorities automatically. You then confirm your registration details, taxpayer type and invoice settings on the electronic tax bureau or at a tax service hall."),
    ("My tax app shows income from a company I never worked for.",
     "You can raise an objection to that income record directly in the individual income tax app, and the tax authority will verify it with the company. If your identity has been misused, you can also report it to the police."),
    ("How do I issue an invoice as a small business?",
     "After tax registration, you can issue electronic invoices through the invoice service platform of the electronic tax bureau. Staff at the tax service hall can help with invoice limits and settings."),
    ("Are there tax reliefs for small-scale taxpayers?",
     "Under current policy, small-scale VAT taxpayers with monthly sales of up to 100,000 yuan are exempt from VAT, and other reductions may apply. Please check the tax bureau website for the latest announcements, as these policies are adjusted from time to time."),
    ("I filed my tax return late. What will happen?",
     "Please file as soon as possible on the electronic tax bureau or the tax app. Late filing can lead to late fees or a fine, but a first minor violation that is corrected promptly is often not penalized."),
    ("Can large medical expenses be deducted from income tax?",
     "Yes. Out-of-pocket costs within the medical insurance scope that exceed 15,000 yuan in a year can be deducted, up to 80,000 yuan, in the annual reconciliation. You can look up the qualifying amount in the national medical insurance service app."),
]

FAQ["en"]["medical_insurance"] = [
    ("How do I register for medical treatment in another province?",
     "You can register for cross-province treatment on the national medical insurance service platform app or at your local medical insurance agency. After registration, hospitals that offer direct settlement deduct the insured part automatically."),
    ("When is the deadline for resident medical insurance?",
     "Resident medical insurance for the next year is usually paid between September and December, and the exact dates are announced by the local medical insurance bureau. You can pay through the tax app, a bank app or your community service center."),
    ("How do I activate the medical insurance e-voucher?",
     "Open the national medical insurance service app, or the medical insurance page of a common payment app, and verify your identity with your ID number and face recognition. After activation you can show the QR code at hospitals and pharmacies."),
    ("How do I enroll my newborn in medical insurance?",
     "After registering the baby's hukou, apply for resident medical insurance at the medical insurance agency, your community service center or online. If you enroll within the required period, medical costs from birth are generally covered."),
    ("How do I apply for chronic disease outpatient coverage?",
     "Have your condition assessed at a designated hospital, then submit the diagnosis and medical records to the medical insurance agency or through its app. After approval, outpatient costs for that disease are reimbursed at a higher rate."),
    ("Can my family use my personal medical insurance account?",
     "In most places you can share your personal account with your spouse, parents and children after binding them in the medical insurance app. They can then use it for their medical costs or to pay resident medical insurance."),
    ("Can I get reimbursed for treatment I received abroad?",
     "Basic medical insurance generally does not cover medical costs incurred outside mainland China. Please check whether you have commercial travel insurance that covers them."),
    ("Someone used my medical insurance card without permission.",
     "Please report the loss and freeze the card immediately in the medical insurance app or at a service counter. You can also report the misuse to the medical insurance bureau, which investigates fraud against insurance funds."),
    ("How do I get reimbursed for a hospital stay in another city without direct settlement?",
     "Keep the original invoices, itemized bill, discharge summary and diagnosis, and submit them to the medical insurance agency where you are insured within the time limit. The covered part will be paid to your bank account."),
    ("Does medical insurance cover childbirth?",
     "Yes. Childbirth costs at designated hospitals are covered, and employees insured for maternity may also receive a maternity allowance. Please ask your employer or the medical insurance agency about the procedure."),
]

FAQ["en"]["complaint_report"] = [
    ("Construction near my home goes on late at night. Who should I contact?",
     "Night-time construction generally needs a permit. Please give us the exact location and working hours, and we will forward your complaint to the urban management and environmental departments; reporting while it is happening helps inspectors verify it on site."),
    ("I bought expired food at a supermarket. How do I complain?",
     "Keep the product, the receipt and photos, and complain to the market regulation bureau through 12345 or the national consumer complaint platform. Under food safety law you may be entitled to compensation."),
    ("How do I report an illegal structure in my residential compound?",
     "Please tell us the address, building number and when the construction started, and send photos if you have them. We will pass the report to the local sub-district office and urban management for inspection."),
    ("I want to complain about a staff member's attitude at a service center.",
     "We are sorry about your experience. Please give us the date, time and window number or the staff member's name if you know it, and we will forward it to the center's supervising department, which will reply to you within the required time."),
    ("I reported a problem to 12345 but haven't had a reply.",
     "Please give us your case number or the phone number you called from, and we will check the progress and urge the responsible department to respond. If you are not satisfied with the result, you can tell us during the follow-up call."),
    ("A factory nearby is polluting the air. Where can I report it?",
     "You can report it to the ecology and environment bureau through 12345, giving the location, the times the pollution occurs and any photos or videos. Environmental inspectors will investigate."),
    ("A training center closed without refunding our fees. What should we do?",
     "Please keep your contracts and payment records and report the case to the education and market regulation departments through 12345. If fraud is suspected, parents can also report it to the police together."),
    ("Noise from a bar keeps us awake every night. Who can help?",
     "Noise from entertainment venues is handled by the environmental and public security departments. You can report the venue name and times through 12345; if the noise is happening right now, you may also call the police."),
    ("A staff member asked me for money to speed up my application. Where do I report it?",
     "You can report it to the discipline inspection and supervision authorities, or through 12345, with the time, place and person involved. Your personal information will be kept confidential."),
    ("How do I report a dangerous pothole on the road?",
     "Please tell us the road name, the nearest landmark and the direction of traffic. We will forward it to the road maintenance department, which will put up warning signs and arrange the repair."),
]

FAQ["en"]["utilities"] = [
    ("There is no water in my building. How can I find out why?",
     "Please first check the outage notices on the water company's official account or app. If there is no notice, give us your address and we will ask the water company to send someone to check."),
    ("I smell gas in my building. What should I do?",
     "Leave the area immediately, do not switch lights or appliances on or off, avoid any open flame, and open windows if it is safe. Then call the gas company's emergency repair line or the fire service from outside."),
    ("How do I transfer the utility accounts after buying a home?",
     "Bring your property certificate and ID card to the service halls of the water, power and gas companies, or apply on their apps. Please settle any outstanding bills with the previous owner first."),
    ("My electricity bill is much higher than usual. What can I do?",
     "Check your meter readings and tiered pricing details in the power supply company's app. If you still think the bill is wrong, request a meter test through the app or at a service hall."),
    ("When will the power come back after an outage?",
     "For planned outages, the restoration time is given in the power company's notice. For unplanned outages, please give us your address and we will check with the power supply repair team."),
    ("Our heating is not working properly. Who do I contact?",
     "Please report it to your heating company or property management first. If the room temperature still doesn't meet the standard, give us your address and temperature and we will pass the case to the heating authority."),
    ("The tap water looks yellow. Is it safe to drink?",
     "Please don't drink it for now; let the tap run for a few minutes to see if it clears. If it doesn't, tell us your address and we will ask the water company to test the water and check the pipes."),
    ("How do I open a gas account for a new home?",
     "Apply to the gas company with your property certificate or rental contract and ID card, at a service hall or on its app. A technician will inspect the installation and then turn on the gas."),
    ("My gas was cut off for non-payment but I've already paid. What now?",
     "Payments can take a little time to reach the meter, and card-type meters need the card to be inserted after payment. If the supply is still off, contact the gas company with your payment record."),
    ("Are there utility discounts for low-income households?",
     "Many cities give households receiving the minimum living allowance a monthly amount of free or discounted water and electricity. Please ask your sub-district office or the civil affairs bureau about local rules."),
]

FAQ["en"]["education_enrollment"] = [
    ("How do non-local children enroll in primary school?",
     "Parents usually apply through the district education bureau's online enrollment system during the spring registration period. Prepare the child's household booklet, the parents' residence permits, proof of residence and proof of employment or social insurance; the exact list is in the district's enrollment plan."),
    ("How can I find out which school my address is zoned for?",
     "Each district education bureau publishes its school zoning plan before enrollment, usually on its website or official social media account. You can also ask the bureau's enrollment office with your full address."),
    ("When does kindergarten registration start?",
     "Public kindergarten registration usually takes place in spring or early summer, and dates vary by district. Please follow the district education bureau's announcements and register online within the published period."),
    ("Can foreign children attend public schools?",
     "Many cities allow children of foreign nationals with valid residence permits to apply to public schools that have places. Please contact the district education bureau for the procedure and required documents."),
    ("How do I transfer my child to a school in a new city?",
     "First confirm with the district education bureau or the target school that a place is available. The receiving school then starts the transfer in the national student status system, and the old school releases the student record."),
    ("A school asked us for a sponsorship fee for enrollment. Is that allowed?",
     "Public schools in compulsory education may not charge sponsorship or school-choice fees as a condition of enrollment. You can report it to the district education bureau or through 12345."),
    ("How are points calculated for non-local children's school admission?",
     "Points rules differ by city and usually consider how long you have held a residence permit, your social insurance record and your housing. Please check the points rules published by your city or district education bureau."),
    ("Our enrollment information failed verification. What should we do?",
     "Check that the names, ID numbers and address you entered match your documents exactly. If they do, bring the documents to the enrollment office of the district education bureau before the deadline for a manual check."),
    ("Where can children with special needs go to school?",
     "Depending on the child's situation, they can attend a regular school with support or a special education school. The district special education center can assess your child and recommend a suitable school."),
    ("How do students from another province register for the high school entrance exam?",
     "Returning students register with the local education examination authority, usually in the first semester of grade 9. Please check the local eligibility conditions and bring the student status records to the school or exam office."),
]

FAQ["en"]["public_transport"] = [
    ("How do I get a senior citizen's bus card?",
     "Residents who meet the local age requirement can apply at a transit card service center, or on the city's transit app, with their ID card and a photo. Holders ride free or at a discount, depending on the city."),
    ("I left something on the metro. How can I get it back?",
     "Contact the service center of the station where you got off with the line, the time and a description of the item. Found items are usually sent to the metro lost and found center, where you can collect them with your ID."),
    ("The bus didn't come for a long time. Where can I complain?",
     "Please give us the route, the stop and the time you were waiting. We will pass it to the bus company, which will check its dispatch records and reply to you."),
    ("A bus driver was rude to me. How do I complain?",
     "Please tell us the route, the vehicle or plate number if you noticed it, the time and what happened. We will forward your complaint to the bus company for investigation and a reply."),
    ("Can a bus stop be added near my home?",
     "Please give us the exact location and the reason a stop is needed. We will pass your suggestion to the transport bureau, which will study it together with the bus company."),
    ("My transit card was charged twice. How do I get a refund?",
     "Take the card to a station service center or transit card service outlet, where staff can check the transaction records. If a double charge is confirmed, the amount is returned to your card."),
    ("A taxi driver overcharged me. What should I do?",
     "Keep the receipt or note the plate number and driver's service card, and report it through 12345 with the time and route. The transport enforcement department will investigate and order a refund if the overcharge is confirmed."),
    ("Do buses and the metro run during a typhoon?",
     "Services may be reduced or suspended in severe weather. Please follow the official accounts of the metro and bus companies for real-time announcements before you set out."),
    ("How can foreign visitors pay for public transport?",
     "Many cities accept foreign bank cards at metro gates or in transit apps, and you can also buy single-journey tickets or a transit card at station service centers. The operator's website lists the payment methods in your city."),
    ("How do I get my transit card deposit back?",
     "Bring the card and your ID to a transit card service outlet; the remaining balance and deposit are refunded after checking. Damaged cards may take a few working days."),
]

FAQ["en"]["id_documents"] = [
    ("How do I renew my ID card before it expires?",
     "You can renew it at any police station household registration window or ID card service point, even outside your hukou city. Bring your old ID card; photos can be taken on site, and you can collect the new card or have it mailed."),
    ("I lost my ID card. What should I do?",
     "Please report the loss on the police service app or at the nearest police station, then apply for a replacement. If you need to take a train urgently, the police office at the railway station can issue a temporary identity certificate for travel."),
    ("How long does it take to get a passport?",
     "You can apply at any exit-entry administration office with your ID card, and passports are usually ready in about seven working days. You can book and track your application on the National Immigration Administration's app."),
    ("Can I apply for a Hong Kong and Macau permit outside my hukou city?",
     "Yes, mainland residents can apply for exit-entry documents at any exit-entry office nationwide with their ID card. Endorsement renewals can often be done at self-service machines or online."),
    ("Can someone else apply for a passport for me?",
     "A passport application must be made in person because photos and fingerprints are collected. For elderly people or people with limited mobility, please contact the exit-entry office in advance to ask about assistance."),
    ("Can my new ID card be mailed to me?",
     "Yes, many cities can mail new ID cards; choose postal delivery when you apply and pay the postage. Otherwise you or an authorized family member can collect it at the police station."),
    ("Do employees of state-owned enterprises need approval to get a passport?",
     "Some staff of state agencies and state-owned enterprises are registered for exit-entry management and need their employer's approval before applying. Please check with your organization's personnel department."),
    ("I found someone's ID card. Where should I hand it in?",
     "Please hand it in at the nearest police station or police post, and they will contact the owner. Thank you for your help!"),
    ("How do foreigners renew a residence permit?",
     "Apply at the exit-entry administration office of the public security bureau where you live before your permit expires, with your passport, photo, accommodation registration and supporting documents such as your work permit. Processing takes several working days."),
    ("Does a child need an ID card?",
     "Citizens aged 16 and over must have an ID card, and children under 16 may apply voluntarily. A guardian should bring the household booklet and their own ID to the police station."),
]

FAQ["en"]["housing_property"] = [
    ("How do I cancel the mortgage registration after paying off my loan?",
     "Get the loan settlement certificate and mortgage release documents from your bank, then apply for mortgage cancellation at the real estate registration center or online with your ID and property certificate. It is usually done within a few working days."),
    ("How do I apply for public rental housing?",
     "Check the income, asset and housing conditions published by the housing security department, then apply through your sub-district office or the housing security online platform. Eligible applicants join the waiting list after review and public notice."),
    ("My landlord won't return my deposit. What can I do?",
     "First try to negotiate with evidence such as the rental contract, payment records and photos of the apartment at move-out. If that fails, you can ask the sub-district office or a people's mediation committee to mediate, or file a lawsuit."),
    ("Our property management company raised fees without consulting the owners.",
     "Fee adjustments must follow the service contract and local rules, usually with the agreement of the owners' assembly or committee. You can report it to the housing and construction department or the price authorities through 12345."),
    ("How do we transfer an inherited apartment?",
     "Bring the death certificate, proof of relationship, the property certificate and either a notarized inheritance certificate or an agreement signed by all heirs to the real estate registration center. The counter will explain the applicable taxes and fees."),
    ("How can I check whether a property is mortgaged or seized?",
     "With the owner's consent, you can request a registration record search at the real estate registration center or on its online platform. The record shows mortgages, seizures and other restrictions."),
    ("Our developer is late delivering the apartment. What can we do?",
     "Check the delivery date and the penalty clause in your purchase contract and keep all communication records. You can complain to the housing and construction department through 12345, and claim compensation by negotiation or in court."),
    ("How do we use the housing special maintenance fund?",
     "The owners' committee or property company prepares a repair plan, which must be approved by the required majority of owners, and then applies to the maintenance fund office. Urgent cases such as a broken elevator can use the emergency procedure."),
    ("Can I add my spouse's name to the property certificate?",
     "Yes, apply together at the real estate registration center with both ID cards, your marriage certificate and the property certificate. Adding a spouse is generally exempt from deed tax."),
    ("How do I register my rental contract?",
     "Landlords or tenants can register the contract on the housing rental service platform, or at the sub-district office with the contract, proof of ownership and both IDs. The registration record is useful for residence permits and school enrollment."),
]

FAQ["en"]["employment_labor"] = [
    ("My employer owes me wages. What can I do?",
     "Collect evidence such as your contract, attendance records and pay slips, and complain to the labor inspection office of the human resources and social security bureau. You can also apply for labor arbitration, which is free of charge."),
    ("How do I apply for labor arbitration?",
     "Submit an application with your ID, proof of employment and your claims to the labor dispute arbitration commission where the employer is located or where you worked. You generally need to apply within one year of the dispute."),
    ("Am I entitled to compensation if I'm dismissed?",
     "If the employer ends the contract without a lawful reason or proper procedure, you may claim economic compensation, generally one month's wage per year of service, or double that for unlawful dismissal. The labor inspection office or arbitration commission can advise on your case."),
    ("My employer won't sign a labor contract with me.",
     "An employer must sign a written contract within one month of hiring. If it doesn't, you can claim double wages for the period without a contract and complain to the labor inspection office."),
    ("Is my employer required to pay overtime?",
     "Yes. Overtime on workdays must be paid at least 150 percent of wages, rest-day work without time off in lieu at least 200 percent, and work on public holidays at least 300 percent. You can complain to labor inspection if it is not paid."),
    ("How does a company apply for a work permit for a foreign employee?",
     "The employer applies online through the foreigner work management service system and submits documents to the local science and technology or foreign experts department. After the permit is approved, the employee applies for a work-type residence permit."),
    ("Where can I find free job training?",
     "Public employment service centers under the human resources and social security bureau offer free or subsidized skills training to registered job seekers. Check the courses on the local public employment service platform or ask at your community service center."),
    ("Our contractor disappeared without paying the construction workers. What should we do?",
     "Wage arrears for migrant workers are handled with priority. Report the project name, location and number of workers through 12345 or directly to the labor inspection office, and keep any attendance or wage records."),
    ("Does my employer have to give me a separation certificate?",
     "Yes. The employer must issue a termination certificate when the contract ends and transfer your personnel file and social insurance within 15 days. If it refuses, you can complain to the labor inspection office."),
    ("What is the minimum wage here?",
     "Minimum wages are set by each province and published by the human resources and social security department. Please check the latest level on the department's website; pay for normal working hours may not be lower than it."),
]

FAQ["zh"]["social_insurance"] = [
    ("养老保险关系转移要回原参保地办吗？",
     "不用回原参保地。您可以在新参保地的社保经办机构申请，也可以通过国家社会保险公共服务平台或当地社保APP线上申请，两地经办机构会协同办理转移。"),
    ("失业金领取需要什么条件？",
     "一般需要失业前单位和本人累计缴纳失业保险满一年、非本人意愿中断就业、已办理失业登记并有求职要求。您可以带身份证和解除劳动合同证明到人社部门申领，也可以在当地人社APP上线上申请。"),
    ("工伤认定单位不给申请怎么办？",
     "单位应在事故发生之日起30日内提出工伤认定申请；单位不申请的，您本人或近亲属可以在一年内直接向人社部门申请。请准备好身份证、病历诊断证明和劳动关系证明材料。"),
    ("社保缴费证明怎么打印？",
     "您可以在当地社保APP或网上服务大厅下载带验证码的电子缴费证明，也可以持身份证到社保服务大厅的自助机打印，大多数银行和学校都认可电子版。"),
    ("养老保险要交满多少年才能领养老金？",
     "目前达到退休年龄时累计缴费满15年才能按月领取基本养老金，国家规定最低缴费年限今后会逐步提高。缴费年限不够的可以延长缴费，具体可到社保经办机构查询个人参保记录。"),
    ("灵活就业人员怎么交社保？",
     "灵活就业人员可以持身份证到社保经办机构登记，也可以在当地社保APP上办理参保登记，在规定范围内自选缴费基数，登记后一般通过银行代扣或税务APP缴费。"),
    ("社保卡丢了怎么办？",
     "请先通过社保APP、电子社保卡或到服务网点办理挂失，再持身份证到社保卡合作银行网点或社保服务大厅申请补办，不少城市也支持线上申请、邮寄到家。"),
    ("养老金待遇资格认证怎么做？",
     "老人可以通过当地社保APP或电子社保卡刷脸完成认证，子女可以协助操作。行动不便、刷脸不成功的，可以联系所在社区或社保经办机构申请上门认证。"),
    ("公司不给交社保去哪投诉？",
     "您可以带上劳动合同、工资流水等材料，到用人单位所在地人社部门的劳动保障监察机构投诉，也可以通过12345热线反映，我们会转交相关部门处理。"),
    ("参保人去世了，丧葬补助金怎么领？",
     "请家属带上死亡证明、户口注销证明、逝者身份证和社保卡，以及领取人的身份证和亲属关系证明，到社保经办机构申请，丧葬补助金和个人账户余额会发放到继承人账户。"),
]

FAQ["zh"]["household_registration"] = [
    ("宝宝出生多久要上户口？要带什么？",
     "建议在出生后一个月内办理出生登记。请带上《出生医学证明》、父母双方身份证和户口簿、结婚证，到户籍所在地派出所户籍窗口办理，很多地方也可以通过公安政务服务平台网上办理。"),
    ("应届毕业生落户需要哪些材料？",
     "一般需要毕业证、学位证、身份证和劳动合同等就业证明，具体条件以当地人才落户政策为准。建议先在公安局或人社局官网查询最新政策，再到拟落户地派出所申请。"),
    ("户口本丢了怎么补？",
     "户主或家庭成员可以持本人身份证到户籍所在地派出所户籍窗口申请补领户口簿，一般当场或几个工作日内就能办好。"),
    ("人去世了户口怎么注销？",
     "请家属带上医院或社区出具的死亡证明、逝者身份证和户口簿，到户籍所在地派出所办理户口注销，身份证会同时收回。"),
    ("居住证怎么办？",
     "在居住地居住满半年，并有合法稳定就业、住所或连续就读的，可以带身份证、照片和居住证明到居住地派出所或社区服务点申领，部分城市支持网上申请。"),
    ("夫妻投靠落户有什么条件？",
     "大多数城市允许配偶投靠落户，有的城市对结婚年限或在当地居住时间有要求。请带上结婚证、双方身份证和户口簿、住房证明，到拟落户地派出所咨询办理。"),
    ("户口上的出生日期错了能改吗？",
     "可以申请更正，但需要提供出生医学证明、早期学籍档案等能证明真实出生日期的原始材料，到户籍所在地派出所提出申请，部分情况还需公安机关审批。"),
    ("准迁证过期了怎么办？",
     "请带上过期的准迁证和身份证，到原开具的派出所申请延期或重新开具，之后再到新落户地办理入户手续。"),
    ("老人户口可以投靠子女吗？",
     "不少城市允许达到一定年龄的父母投靠子女落户，但对子女的落户年限和住房条件有要求。建议先向当地派出所咨询或在公安局官网查询具体条件，再准备材料。"),
    ("办签证要的户籍证明在哪里开？",
     "可以带身份证和户口簿到户籍所在地派出所开具户籍证明，部分城市也可以在公安政务服务APP上申请电子证明。"),
]

FAQ["zh"]["housing_provident_fund"] = [
    ("租房怎么提取公积金？",
     "在本市没有自有住房的职工，可以通过公积金中心APP、网上服务大厅或到柜台申请租房提取，一般需要身份证和本人银行卡。提取频次和额度以当地政策为准，审核通过后会打到您的银行卡上。"),
    ("公积金贷款能贷多少？",
     "可贷额度和您的账户余额、缴存年限、收入、房价以及当地最高限额有关。您可以先用公积金APP里的贷款计算器测算，也可以带购房合同到服务网点咨询。"),
    ("单位不给交公积金怎么办？",
     "您可以带上劳动合同、工资条等能证明劳动关系的材料，向当地住房公积金管理中心投诉，公积金中心会责令单位限期缴存。"),
    ("公积金怎么异地转移？",
     "新单位给您开户后，可以在转入地公积金中心或全国住房公积金小程序上申请转移接续，余额会在两地中心之间划转，不用回原来的城市。"),
    ("退休了公积金怎么取？",
     "退休后可以办理销户提取，带上身份证和退休证明到公积金服务网点，或在线上办理，全部余额会转到您本人的银行卡。"),
    ("公积金贷款提前还款有违约金吗？",
     "公积金贷款提前还款一般不收违约金。您可以在公积金APP或贷款银行申请，有的地方需要提前几天预约。"),
    ("离职后公积金封存了怎么办？",
     "入职新单位后，由新单位通过网上业务系统或到柜台把您的封存账户转到单位名下，账户启封后就可以继续缴存了。"),
    ("个体户能交公积金吗？",
     "很多城市允许个体工商户和灵活就业人员自愿缴存公积金，带身份证和银行卡到公积金中心开户即可，缴存基数和比例在当地规定范围内自行选择。"),
    ("老楼加装电梯能提公积金吗？",
     "不少城市支持用公积金支付老旧小区加装电梯的个人分摊费用，需要加装协议、付款凭证和身份证，具体可以在当地公积金APP查看有没有这个提取类型。"),
    ("公积金缴存证明怎么开？",
     "可以在公积金中心的自助终端打印，也可以在公积金APP或网上服务大厅下载带验证码的电子证明，银行和开发商一般都认可。"),
]

FAQ["zh"]["traffic_violation"] = [
    ("交通违法罚款怎么在网上交？",
     "您可以在公安交管部门的官方APP上注册登录，绑定驾驶证和车辆后处理违法、缴纳罚款，缴款成功后记录一般一两天内更新。"),
    ("觉得电子警察拍错了怎么申诉？",
     "可以通过交管官方APP提交申诉并上传证据，也可以到违法行为发生地的交警大队当面申请复核，复核结果出来前建议先不要缴款。"),
    ("车被拖走了去哪找？",
     "请联系拖车地点所属的交警大队，确认车辆停放在哪个停车场。带上驾驶证、行驶证和身份证，先处理违法行为，再去提车。"),
    ("驾照12分扣满了怎么办？",
     "驾驶证会被扣留，您需要到车管所参加道路交通安全法律法规学习，并参加科目一考试，考试合格后记分清除、驾驶证发还。"),
    ("违章罚款不交会有滞纳金吗？",
     "罚款决定书送达后15日内不缴纳的，每日按罚款数额的3%加处罚款，加处总额不超过罚款本身。请尽快通过APP或交警窗口处理。"),
    ("车牌被套牌了怎么办？",
     "请收集违法时间段车辆在别处的证据，比如停车记录、行车记录仪视频，到违法记录所在地的交警部门反映，核实后会撤销错误记录。"),
    ("电动车没上牌被扣了，怎么领回？",
     "请带身份证和购车凭证到扣车的交警中队或大队接受处理，一般需要先办理登记上牌，之后才能领回车辆。"),
    ("借车给朋友出了违章，能让他去处理吗？",
     "如果确实是朋友驾驶，他可以用自己的驾驶证在APP或窗口处理。找人代扣分属于违法行为，一经查实会被处罚。"),
    ("卖车前怎么查车辆违章？",
     "登录交管官方APP就能查看车辆的违法记录，也可以到交警服务窗口查询，所有违法处理完毕后才能办理过户。"),
    ("节假日也限行吗？我被拍了。",
     "各地限行规定不同，多数城市法定节假日不限行，但以当地交管部门发布的通告为准。如果确认是在不限行的日子被处罚，可以向交警部门申请复核。"),
]

FAQ["zh"]["business_license"] = [
    ("个体户营业执照怎么办？",
     "您可以在当地政务服务网或市场监管部门的登记系统网上申请，也可以到区政务服务中心登记窗口办理，需要身份证、经营场所证明和经营范围。"),
    ("注册公司要多长时间？",
     "材料齐全的话，多数城市一到三个工作日就能领到营业执照，可以在网上查询办理进度，执照可以选择自取或邮寄。"),
    ("公司注销需要哪些流程？",
     "需要先完成清税、清理债权债务，再通过企业注销网上服务平台或到市场监管部门申请注销。没有债务的企业可以适用简易注销，公告期20天。"),
    ("企业年报逾期没报怎么办？",
     "年报时间是每年1月1日至6月30日，通过国家企业信用信息公示系统填报。逾期未报会被列入经营异常名录，补报后可以申请移出。"),
    ("开餐饮店除了营业执照还要办什么？",
     "经营食品一般还要办理食品经营许可证，拿到营业执照后向市场监管部门申请；只卖预包装食品的，部分情况只需要备案。"),
    ("公司地址变了怎么变更？",
     "请准备股东会决议、新住所证明和营业执照正副本，到市场监管部门或在网上办理变更登记；迁到其他区的可能还要办理档案迁移。"),
    ("身份证被冒用注册公司了怎么办？",
     "请向公司登记所在地的市场监管部门提出撤销冒名登记申请，提交本人身份证和书面说明，查实后会撤销登记；也可以同时向公安机关报案。"),
    ("住宅可以注册成公司地址吗？",
     "各地政策不一样，有的城市允许部分行业用住宅登记，但可能需要有利害关系的业主或居委会同意。建议申请前先向区市场监管局咨询。"),
    ("电子营业执照有法律效力吗？",
     "电子营业执照和纸质执照具有同等法律效力，可以通过官方电子营业执照小程序或APP下载，用于银行开户、办税等业务。"),
    ("公司法人怎么变更？",
     "需要提交变更登记申请书、股东会或董事会决议、新法定代表人身份证明和营业执照原件，可以在网上或到市场监管部门窗口办理，审核通过后换发新执照。"),
]

FAQ["zh"]["tax"] = [
    ("个税汇算什么时候办？",
     "个人所得税综合所得年度汇算时间是次年3月1日至6月30日，您可以在个人所得税APP上自行办理，有退税的会退到您绑定的银行卡。"),
    ("租房子能抵个税吗？",
     "在主要工作城市没有自有住房、租房居住的，可以享受住房租金专项附加扣除，在个人所得税APP里填报，可以选择由单位按月扣除或者年度汇算时扣除。"),
    ("完税证明怎么开？",
     "可以在个人所得税APP或网页端开具个人所得税纳税记录，也可以到办税服务厅打印，记录上有验证码，大多数机构都认可。"),
    ("卖房要交哪些税？",
     "要看房子持有年限、是不是家庭唯一住房等情况，可能涉及增值税、个人所得税，买方还要交契税。具体金额可以带上不动产权证到不动产交易中心的税务窗口核算。"),
    ("领了营业执照以后要去税务局登记吗？",
     "现在多数地方领取执照后信息会自动共享到税务部门，您需要登录电子税务局确认登记信息、纳税人类型和发票事项，也可以到办税服务厅办理。"),
    ("个税APP里有不认识的公司给我报了收入怎么办？",
     "可以在个人所得税APP里对这条收入记录直接提出申诉，税务机关会向该单位核实。如果发现身份信息被冒用，也可以向公安机关报案。"),
    ("个体户怎么开发票？",
     "完成税务登记后，可以通过电子税务局的发票服务平台开具电子发票，发票额度和相关设置可以到办税服务厅咨询。"),
    ("小规模纳税人有什么税收优惠？",
     "按照现行政策，小规模纳税人月销售额10万元以下免征增值税，还有其他减征政策。政策会阶段性调整，请以税务部门官网的最新公告为准。"),
    ("逾期申报了会怎么样？",
     "请尽快通过电子税务局或个税APP补充申报。逾期申报可能产生滞纳金或罚款，但首次轻微违法并及时改正的，一般可以不予处罚。"),
    ("看病花了不少钱，个税能扣除吗？",
     "一个纳税年度内，医保目录范围内个人负担的医药费用累计超过1.5万元的部分，可以在年度汇算时在8万元限额内据实扣除，相关金额可以在国家医保服务平台APP查询。"),
]

FAQ["zh"]["medical_insurance"] = [
    ("异地就医备案怎么办？",
     "可以通过国家医保服务平台APP或当地医保经办机构办理跨省异地就医备案，备案后在开通直接结算的定点医院看病，医保报销部分会直接结算。"),
    ("城乡居民医保什么时候交？",
     "下一年度的居民医保一般在每年9月到12月集中缴费，具体时间以当地医保局通知为准，可以通过税务APP、银行APP或社区服务中心缴纳。"),
    ("医保电子凭证怎么激活？",
     "在国家医保服务平台APP或常用支付软件的医保页面，用身份信息加人脸识别完成认证就能激活，之后在医院和药店出示二维码即可结算。"),
    ("新生儿医保怎么办？",
     "给宝宝上完户口后，就可以到医保经办机构、社区服务中心或在网上办理居民医保参保。在规定时间内参保缴费的，一般出生之日起的医疗费用都可以按规定报销。"),
    ("门诊慢特病怎么申请？",
     "请先到定点医院做病情鉴定，再把诊断证明和病历资料交到医保经办机构或通过医保APP提交，审核通过后该病种的门诊费用会按更高比例报销。"),
    ("医保个人账户能给家人用吗？",
     "大多数地方在医保APP上绑定配偶、父母、子女后，就可以用个人账户支付他们的医疗费用，也可以用来给家人缴纳居民医保。"),
    ("在国外看病能报销吗？",
     "基本医疗保险一般不报销境外发生的医疗费用，建议您看看是否购买了包含境外医疗的商业保险。"),
    ("医保卡被盗刷了怎么办？",
     "请马上通过医保APP或到服务窗口办理挂失冻结，并向医保部门举报盗刷行为，医保部门会依法调查处理。"),
    ("外地住院没有直接结算，回来怎么报销？",
     "请保存好发票原件、费用明细清单、出院小结和诊断证明，在规定时间内交到参保地医保经办机构，符合规定的费用会报销到您的银行卡。"),
    ("生孩子医保能报吗？",
     "在定点医疗机构发生的生育医疗费用可以按规定报销，参加职工生育保险的还可以申领生育津贴，具体可以咨询单位或医保经办机构。"),
]

FAQ["zh"]["complaint_report"] = [
    ("工地晚上施工太吵，找谁管？",
     "夜间施工一般需要办理许可。请告诉我们具体位置和施工时间，我们会转交城管和生态环境部门处理；正在施工时反映，执法人员可以及时到现场核实。"),
    ("买到过期食品怎么投诉？",
     "请保留好商品、购物小票和照片，通过12345或全国消费者投诉平台向市场监管部门投诉，按照食品安全法的规定您可以要求赔偿。"),
    ("小区里有人搭违建，怎么举报？",
     "请提供详细地址、楼栋号和开始施工的时间，有照片最好一并提供，我们会转交属地街道和城管部门核查处理。"),
    ("办事窗口工作人员态度差，怎么投诉？",
     "很抱歉给您带来不好的体验。请告诉我们办事的时间、窗口号或工作人员姓名，我们会转交该服务中心的主管部门，在规定时限内给您答复。"),
    ("之前反映的问题一直没人回复怎么办？",
     "请提供工单编号或当时来电的手机号码，我们帮您查询办理进度并督促承办部门尽快答复；对处理结果不满意的，回访时可以直接告诉我们。"),
    ("附近工厂排放废气，去哪里举报？",
     "可以通过12345向生态环境部门举报，请说明具体位置、排放时间，并提供照片或视频，环境执法人员会进行核查。"),
    ("培训机构跑路了，学费怎么办？",
     "请保存好合同和缴费凭证，通过12345向教育和市场监管部门反映；如果涉嫌诈骗，家长们也可以一起向公安机关报案。"),
    ("楼下酒吧噪音太大，谁来管？",
     "娱乐场所噪声由生态环境和公安部门负责。您可以通过12345反映场所名称和扰民时段；如果正在扰民，也可以直接报警。"),
    ("办事人员索要好处费，去哪举报？",
     "您可以向纪检监察机关举报，也可以通过12345反映，请说明时间、地点和涉及人员，我们会对您的个人信息严格保密。"),
    ("路上有个大坑很危险，找谁修？",
     "请告诉我们道路名称、附近的标志性建筑和行车方向，我们会转交道路养护部门，先设置警示标志再安排维修。"),
]

FAQ["zh"]["utilities"] = [
    ("家里突然停水了，怎么知道是什么原因？",
     "您可以先在自来水公司的公众号或APP上查看停水公告；如果没有公告，请告诉我们详细地址，我们联系供水企业派人排查。"),
    ("闻到煤气味怎么办？",
     "请立即离开现场，不要开关电器、不要使用明火，在安全的前提下打开门窗，然后到室外拨打燃气公司抢修电话或报火警。"),
    ("买了二手房，水电气怎么过户？",
     "请带上不动产权证和身份证到供水、供电、燃气公司营业厅办理，也可以在各自的APP上申请，过户前记得和原房主结清欠费。"),
    ("电费突然很高，怎么办？",
     "可以先在供电公司APP上查看电表读数和阶梯电价明细；如果仍然觉得有问题，可以在APP或营业厅申请校验电表。"),
    ("停电了什么时候来电？",
     "计划停电的恢复时间在供电公司的公告里有写；如果是突发停电，请告诉我们具体地址，我们帮您联系供电抢修部门核实。"),
    ("暖气不热找谁？",
     "请先向供热企业或小区物业报修；如果室温仍然达不到标准，请告诉我们地址和室内温度，我们转交供热主管部门督办。"),
    ("自来水发黄能喝吗？",
     "建议暂时不要饮用，可以先放水几分钟看能否变清；如果还是发黄，请提供地址，我们通知供水企业检测水质、检查管道。"),
    ("新房怎么开通燃气？",
     "请带不动产权证或租房合同、身份证到燃气公司营业厅或在其APP上申请，工作人员会上门做安全检查后通气。"),
    ("交了燃气费还是没气怎么办？",
     "缴费后可能需要一段时间才能同步到表具，插卡表还需要把卡插到表上写入；如果还是没气，请带缴费记录联系燃气公司处理。"),
    ("低保户水电费有优惠吗？",
     "不少城市对低保家庭每月给予一定的免费或优惠水电量，具体标准请咨询所在街道或民政部门。"),
]

FAQ["zh"]["education_enrollment"] = [
    ("随迁子女怎么报名上小学？",
     "一般在春季报名期间，通过所在区教育局的网上招生系统报名。需要准备孩子户口簿、父母居住证、住房证明和就业或社保证明，具体要求以区教育局发布的招生方案为准。"),
    ("怎么查我家对口哪所学校？",
     "各区教育局会在招生前公布学区划分方案，可以在教育局官网或官方公众号查询，也可以带着详细地址咨询区教育局招生办。"),
    ("幼儿园什么时候报名？",
     "公办幼儿园一般在春季或初夏报名，各区时间不一样，请关注区教育局的招生公告，在规定时间内网上报名。"),
    ("外籍孩子能上公办学校吗？",
     "不少城市允许持有效居留许可的外籍人员子女申请到有学位的公办学校就读，具体申请流程和材料请咨询区教育局。"),
    ("孩子跨省转学怎么办？",
     "先联系转入地教育局或学校确认有学位，再由转入学校通过全国学籍管理系统发起转学申请，原学校审核后转出学籍。"),
    ("学校收赞助费才让入学，合法吗？",
     "义务教育阶段公办学校不得以赞助费、择校费等名义收费作为入学条件，您可以向区教育局举报，也可以通过12345反映。"),
    ("入学信息审核没通过怎么办？",
     "请先核对填报的姓名、身份证号和地址是否和证件完全一致；如果没有问题，请带上材料在截止日期前到区教育局招生办申请人工核查。"),
    ("特殊需要的孩子在哪上学？",
     "根据孩子的情况，可以在普通学校随班就读，也可以去特殊教育学校，区特殊教育指导中心可以为孩子做评估并推荐合适的学校。"),
    ("积分入学怎么算分？",
     "各城市积分规则不同，通常会考虑居住证年限、社保缴纳年限和住房情况等，请以所在市或区教育局公布的积分办法为准。"),
    ("外省回来的学生怎么报名中考？",
     "回户籍地参加中考的学生由当地教育考试机构负责报名，一般在初三上学期进行，请先了解当地报考条件，再带学籍材料到学校或招考部门办理。"),
]

FAQ["zh"]["public_transport"] = [
    ("老年卡怎么办？",
     "符合本地年龄条件的老人可以带身份证和照片到公交卡服务网点办理，部分城市也能在公交APP上申请，持卡可以免费或优惠乘车。"),
    ("东西落在地铁上了怎么找？",
     "请尽快联系下车站点的客服中心，说明线路、乘车时间和物品特征。捡到的物品一般会送到地铁失物招领中心，凭身份证领取。"),
    ("公交车半天不来，去哪投诉？",
     "请告诉我们线路、站点和等车的时间，我们会转给公交公司核查车辆调度记录并给您答复。"),
    ("公交司机态度差怎么投诉？",
     "请提供线路、车牌号或车辆编号、时间和经过，我们会转交公交企业调查处理并回复您。"),
    ("能不能在我家附近增设公交站？",
     "请告诉我们具体位置和增设站点的理由，我们会把建议转给交通运输部门，由他们会同公交公司研究。"),
    ("交通卡重复扣费怎么退？",
     "请带上交通卡到车站客服中心或公交卡服务网点查询交易记录，确认重复扣费后会把钱退回卡内。"),
    ("出租车乱收费怎么投诉？",
     "请保留好发票，或拍下车牌号和服务监督卡，通过12345反映乘车时间和路线，交通执法部门会调查，情况属实会责令退还多收的费用。"),
    ("台风天地铁公交还运营吗？",
     "恶劣天气下可能会缩短运营或停运，出行前请关注地铁和公交公司官方账号发布的实时通知。"),
    ("外国游客怎么坐地铁？",
     "很多城市的地铁闸机和乘车APP支持境外银行卡，也可以在车站客服中心买单程票或交通卡，具体支付方式可以查看当地运营公司官网。"),
    ("旧公交卡押金怎么退？",
     "请带上卡和身份证到公交卡服务网点办理，核对后退还卡内余额和押金，卡片损坏的可能需要几个工作日。"),
]

FAQ["zh"]["id_documents"] = [
    ("身份证快到期了去哪换？",
     "可以到任意派出所户籍窗口或身份证办理点换领，不在户籍地也可以异地办理。请带上旧身份证，现场可以拍照，新证可以选择自取或邮寄。"),
    ("身份证丢了怎么办？",
     "请先通过公安政务服务APP或到附近派出所挂失，再申请补领；急着坐火车的，可以到火车站的公安制证窗口办理临时乘车身份证明。"),
    ("办护照要多久？",
     "现在凭身份证可以在全国任意出入境管理窗口申请护照，一般7个工作日左右出证，可以在国家移民管理局的APP上预约和查询进度。"),
    ("不在户籍地能办港澳通行证吗？",
     "可以，内地居民凭身份证就能在全国任一出入境窗口申请出入境证件，续签签注通常可以在自助机或网上办理。"),
    ("护照能让家人代办吗？",
     "申请护照需要本人到场采集照片和指纹，不能代办。老人或行动不便的，可以提前联系出入境窗口咨询有没有绿色通道服务。"),
    ("身份证可以邮寄吗？",
     "很多城市支持身份证邮寄到家，申请时选择邮寄并支付邮费即可；也可以本人或委托家属到派出所领取。"),
    ("国企员工办护照需要审批吗？",
     "国家机关和国有企业的部分人员属于出入境登记备案人员，办证前需要经过单位审批，请先向单位人事部门确认。"),
    ("捡到别人的身份证交给谁？",
     "请交到就近的派出所或警务站，民警会联系失主，谢谢您！"),
    ("外国人居留许可怎么续签？",
     "请在居留许可到期前，带护照、照片、住宿登记表以及工作许可等证明材料，到居住地公安机关出入境管理部门申请，一般需要几个工作日。"),
    ("小孩要办身份证吗？",
     "年满16周岁的公民应当申领身份证，不满16周岁的可以自愿申领，由监护人带户口簿和本人身份证到派出所办理。"),
]

FAQ["zh"]["housing_property"] = [
    ("房贷还清了怎么解押？",
     "请先向贷款银行领取结清证明和注销抵押的材料，再带身份证和不动产权证到不动产登记中心或在网上申请抵押注销，一般几个工作日就能办好。"),
    ("公租房怎么申请？",
     "请先查看住房保障部门公布的收入、资产和住房条件，符合的可以通过街道或住房保障网上平台申请，审核公示后进入轮候。"),
    ("房东不退押金怎么办？",
     "建议先拿租房合同、付款记录和退房时的照片跟房东协商；协商不成的，可以申请街道或人民调解委员会调解，也可以向法院起诉。"),
    ("物业乱涨物业费怎么办？",
     "物业费调整应当按照合同约定和当地规定执行，一般要经过业主大会或业委会同意。您可以通过12345向住建部门或价格主管部门反映。"),
    ("继承的房子怎么过户？",
     "请带上死亡证明、亲属关系证明、不动产权证，以及继承公证书或全体继承人签字的协议，到不动产登记中心办理，税费窗口会有说明。"),
    ("买二手房前怎么查有没有抵押查封？",
     "经产权人同意后，可以到不动产登记中心或在其网上平台查询不动产登记信息，能看到抵押、查封等限制情况。"),
    ("开发商延期交房怎么办？",
     "请先查看购房合同里约定的交房时间和违约条款，保存好沟通记录，可以通过12345向住建部门投诉，也可以协商或起诉要求赔偿。"),
    ("房屋维修资金怎么申请使用？",
     "由业委会或物业制定维修方案，经规定比例的业主表决同意后，向维修资金管理部门申请；电梯故障等紧急情况可以走应急使用程序。"),
    ("房产证上加配偶名字怎么办？",
     "夫妻双方带身份证、结婚证和不动产权证到不动产登记中心申请，夫妻之间加名一般免征契税。"),
    ("租房合同怎么备案？",
     "房东或租客可以在住房租赁服务平台网上备案，也可以带合同、房屋权属证明和双方身份证到街道办理，备案证明办居住证、孩子上学都用得上。"),
]

FAQ["zh"]["employment_labor"] = [
    ("老板拖欠工资怎么办？",
     "请收集好劳动合同、考勤记录、工资条等证据，到人社部门的劳动保障监察机构投诉，也可以申请劳动仲裁，仲裁不收费。"),
    ("劳动仲裁怎么申请？",
     "带上身份证、劳动关系证明和仲裁申请书，到用人单位所在地或劳动合同履行地的劳动人事争议仲裁委员会申请，一般应在争议发生之日起一年内提出。"),
    ("被公司辞退有补偿吗？",
     "单位无正当理由或未按程序解除合同的，一般可以按每满一年支付一个月工资的标准获得经济补偿，违法解除的可以主张双倍赔偿，具体可以咨询劳动监察或仲裁机构。"),
    ("公司不签劳动合同怎么办？",
     "用人单位应当自用工之日起一个月内订立书面劳动合同，超过一个月不满一年未签的，您可以主张双倍工资，也可以向劳动保障监察机构投诉。"),
    ("加班费怎么算？",
     "工作日加班不低于工资的150%，休息日加班又不能安排补休的不低于200%，法定节假日加班不低于300%，单位不支付的可以向劳动监察投诉。"),
    ("公司招外国人，工作许可怎么办？",
     "由用人单位在外国人来华工作管理服务系统网上申请，再向当地科技或外国专家主管部门提交材料，拿到工作许可后，本人再办理工作类居留许可。"),
    ("哪里有免费的技能培训？",
     "人社部门和公共就业服务机构会为登记失业人员等提供免费或补贴性的技能培训，可以在当地公共就业服务平台查看课程，也可以到社区服务中心咨询。"),
    ("农民工工资被拖欠，找谁？",
     "农民工欠薪问题会优先处理。请把项目名称、地点和涉及人数通过12345或直接向劳动保障监察机构反映，并保存好考勤和工资记录。"),
    ("离职了公司不开离职证明怎么办？",
     "用人单位应当在解除或终止劳动合同时出具证明，并在15日内办理档案和社保关系转移手续，拒不出具的可以向劳动监察投诉。"),
    ("最低工资标准是多少？",
     "最低工资标准由各省份制定并由人社部门公布，请在当地人社部门官网查询最新标准，正常工作时间的工资不得低于这个标准。"),
]

# --------------------------------------------------------------------------------------
# README / LICENSE
# --------------------------------------------------------------------------------------
LICENSE_TEXT = """Copyright (c) the peftgov project authors.

The {title} dataset in this directory (peftgov/datasets/{name}/) is licensed under the
Creative Commons Attribution 4.0 International License (CC BY 4.0).

You are free to share (copy and redistribute) and adapt (remix, transform, build upon)
the material for any purpose, even commercially, provided you give appropriate credit
("peftgov {name} dataset, peftgov project, CC BY 4.0"), provide a link to the license,
and indicate if changes were made.

License summary: https://creativecommons.org/licenses/by/4.0/
Full legal code: https://creativecommons.org/licenses/by/4.0/legalcode

This licence covers the data files in this directory only. The peftgov source code,
including scripts/make_datasets.py, is licensed separately (see the project metadata).
"""


def _is_plain(text: str, lang: str) -> bool:
    """True for rows without added greeting/thanks/context and not in casual lowercase."""
    starts = tuple(o.strip() for o in OPENERS[lang]) + tuple(
        p.split("{")[0] for p in CONTEXT_PREFIX[lang])
    ends = tuple(c.strip() for c in CLOSERS[lang]) + tuple(
        c.strip().lstrip("，") for c in CONTEXT_SUFFIX[lang])
    cased_ok = lang == "zh" or text[:1].isupper()
    return cased_ok and not text.startswith(starts) and not text.endswith(ends)


def _example(rows: list[dict], intent: str, lang: str) -> str:
    """A typical (median-length, undecorated) training row of ``intent``."""
    cands = sorted((len(r["text"]), r["text"]) for r in rows
                   if r["label"] == intent and _is_plain(r["text"], lang))
    return cands[len(cands) // 2][1]


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def hotline_readme(data: dict[str, dict[str, list[dict]]]) -> str:
    counts = {(lang, split, intent): 0 for lang in LANGS for split in SPLITS for intent in INTENTS}
    for lang in LANGS:
        for split in SPLITS:
            for r in data[lang][split]:
                counts[(lang, split, r["label"])] += 1
    n_templates = {lang: sum(len(TEMPLATES[lang][i]) for i in INTENTS) for lang in LANGS}
    per_intent = sorted({len(TEMPLATES[lang][i]) for lang in LANGS for i in INTENTS})
    tgt = HOTLINE_TARGET
    lines = [
        "# hotline: bilingual citizen-service hotline intents (EN / ZH)",
        "",
        "Short requests that citizens phone or message to a government service hotline (like China's",
        "12345 citizen service hotline), each labelled with one of 14 intents. English and Chinese halves",
        "share the same label set; the Chinese half was written directly in Chinese, not translated.",
        "Use it for intent classification / routing (one label per request).",
        "",
        "## Files and format",
        "",
        "```",
        "hotline/en/{train,validation,test}.jsonl",
        "hotline/zh/{train,validation,test}.jsonl",
        "```",
        "",
        "UTF-8 JSON Lines, one object per line:",
        "",
        "```json",
        json.dumps(data["zh"]["train"][0], ensure_ascii=False),
        json.dumps(data["en"]["train"][0], ensure_ascii=False),
        "```",
        "",
        "`text` is the request, `label` the intent id, `lang` is `en` or `zh`.",
        "",
        "## Intents",
        "",
        "| label | description | example (en) | example (zh) |",
        "|---|---|---|---|",
    ]
    for intent in INTENTS:
        lines.append(f"| `{intent}` | {DESCRIPTIONS[intent]} | {_md(_example(data['en']['train'], intent, 'en'))} "
                     f"| {_md(_example(data['zh']['train'], intent, 'zh'))} |")
    lines += [
        "",
        "## Counts",
        "",
        "| label | en train | en validation | en test | zh train | zh validation | zh test |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for intent in INTENTS:
        cells = [str(counts[(lang, split, intent)]) for lang in LANGS for split in SPLITS]
        lines.append(f"| `{intent}` | " + " | ".join(cells) + " |")
    totals = [str(len(data[lang][split])) for lang in LANGS for split in SPLITS]
    lines.append("| **total** | " + " | ".join(totals) + " |")
    grand = sum(len(data[lang][split]) for lang in LANGS for split in SPLITS)
    lines += [
        "",
        f"{grand} rows in all ({sum(len(data['en'][s]) for s in SPLITS)} English, "
        f"{sum(len(data['zh'][s]) for s in SPLITS)} Chinese).",
        "",
        "## How it was made",
        "",
        f"* Generated by `scripts/make_datasets.py` from hand-written templates ({n_templates['en']} English,",
        f"  {n_templates['zh']} Chinese; {'-'.join(map(str, per_intent))} per intent per language), all authored",
        "  by the peftgov project.",
        "  Templates contain inline alternatives and slots (district, road, amount, date, bus route...)",
        "  filled from hand-written value lists, and cover several sub-topics per intent (e.g. pension",
        "  payments, contribution transfers, unemployment and work-injury insurance for `social_insurance`).",
        "  Some rows get a greeting, a thank-you or intent-neutral context (\"I live in ...\", \"it's",
        "  urgent\"), and a few English ones are typed in casual lowercase.",
        "* **Template-disjoint splits.** Every template belongs to exactly one split (per intent: about",
        "  70% of templates train, 15% validation, 15% test), so validation and test rows are never slot",
        "  swaps of a training row. Rows per intent and language: "
        f"{tgt['train']} train, {tgt['validation']} validation, {tgt['test']} test.",
        "* Duplicates are removed within each language across all splits (case- and",
        "  punctuation-insensitive, ignoring greetings and added context), and rows drawn from the",
        f"  same template must differ clearly (difflib ratio < {NEAR_DUP_RATIO}). Lengths: "
        f"{LENGTH_LIMITS['en'][0]}-{LENGTH_LIMITS['en'][1]} words (en), "
        f"{LENGTH_LIMITS['zh'][0]}-{LENGTH_LIMITS['zh'][1]} characters (zh).",
        "* Deterministic: fixed seed; re-running the script gives byte-identical files",
        "  (`python scripts/make_datasets.py --check` verifies the files on disk).",
        "* Some requests are deliberately near an intent boundary (an employer not paying social",
        "  insurance, a school sponsorship fee, an employer keeping an ID card...). The label is the",
        "  office that should handle the caller's main request.",
        "",
        "**Synthetic data, no personal data.** Place names are common Chinese city, district and street",
        "names used as generic slot values; amounts, dates and situations are invented. Because it is",
        "template-generated, the data is cleaner and less varied than real hotline traffic: treat",
        "scores on it as a smoke test, not as an estimate of production accuracy.",
        "",
        "## Licence",
        "",
        "CC-BY-4.0, authored by the peftgov project; see `LICENSE`",
        "(https://creativecommons.org/licenses/by/4.0/).",
        "",
    ]
    return "\n".join(lines)


def faq_readme(data: dict[str, dict[str, list[dict]]]) -> str:
    counts = {(lang, split): len(data[lang][split]) for lang in LANGS for split in SPLITS}
    per_intent = {lang: len(FAQ[lang][INTENTS[0]]) for lang in LANGS}
    ex = {lang: next(r for r in data[lang]["train"] if r["intent"] == "id_documents") for lang in LANGS}
    lines = [
        "# hotline_faq: bilingual hotline agent FAQ dialogues (EN / ZH)",
        "",
        "Single-turn chat examples for instruction-tuning a small causal LM to act as a citizen-service",
        "hotline agent (like China's 12345 hotline): a citizen's question and the answer a service agent",
        "would give: polite, concrete, 1-3 sentences, pointing to the right office, documents or online",
        "channel. Answers stay generic (\"the district market regulation bureau\", \"the provident fund",
        "app\") and give no phone number other than 12345. The Chinese pairs were written in Chinese,",
        "not translated. The intents are the same 14 as in the sibling `hotline` dataset.",
        "",
        "## Files and format",
        "",
        "```",
        "hotline_faq/en/{train,validation,test}.jsonl",
        "hotline_faq/zh/{train,validation,test}.jsonl",
        "```",
        "",
        "UTF-8 JSON Lines; each row has `messages` (system, user, assistant), `lang`, and `intent`",
        "(the hotline intent the question belongs to, useful for stratified evaluation):",
        "",
        "```json",
        json.dumps(ex["en"], ensure_ascii=False),
        json.dumps(ex["zh"], ensure_ascii=False),
        "```",
        "",
        "The system prompt is identical for every row of a language:",
        "",
        f"* en: \"{FAQ_SYSTEM_PROMPT['en']}\"",
        f"* zh: \"{FAQ_SYSTEM_PROMPT['zh']}\"",
        "",
        "## Counts",
        "",
        "| lang | train | validation | test | total |",
        "|---|---:|---:|---:|---:|",
    ]
    for lang in LANGS:
        c = [counts[(lang, s)] for s in SPLITS]
        lines.append(f"| {lang} | {c[0]} | {c[1]} | {c[2]} | {sum(c)} |")
    lines += [
        "",
        f"{per_intent['en']} pairs per intent per language, split per intent 8/1/1 with a fixed seed.",
        "Intents: " + ", ".join(f"`{i}`" for i in INTENTS) + ".",
        "",
        "## How it was made",
        "",
        "* Every question and answer was hand-written for this project and is stored in",
        "  `scripts/make_datasets.py`, which writes these files deterministically",
        "  (`python scripts/make_datasets.py`; `--check` verifies the files on disk).",
        "* Answers describe typical procedures in China in general terms (\"usually\", \"in most",
        "  cities\", \"check the local rules\"). They are training material for tone and routing, **not**",
        "  authoritative policy: local rules differ and change.",
        "* Synthetic, no personal data.",
        "",
        "## Licence",
        "",
        "CC-BY-4.0, authored by the peftgov project; see `LICENSE`",
        "(https://creativecommons.org/licenses/by/4.0/).",
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------
def build_files() -> dict[Path, bytes]:
    files: dict[Path, bytes] = {}
    hotline = build_hotline()
    faq = build_faq()
    for name, data in (("hotline", hotline), ("hotline_faq", faq)):
        for lang in LANGS:
            for split in SPLITS:
                files[OUT_DIR / name / lang / f"{split}.jsonl"] = to_jsonl(data[lang][split])
    files[OUT_DIR / "hotline" / "README.md"] = hotline_readme(hotline).encode("utf-8")
    files[OUT_DIR / "hotline_faq" / "README.md"] = faq_readme(faq).encode("utf-8")
    files[OUT_DIR / "hotline" / "LICENSE"] = LICENSE_TEXT.format(
        title="peftgov hotline", name="hotline").encode("utf-8")
    files[OUT_DIR / "hotline_faq" / "LICENSE"] = LICENSE_TEXT.format(
        title="peftgov hotline_faq", name="hotline_faq").encode("utf-8")
    return files


def template_report() -> None:
    """Print templates that yield few distinct variants (authoring aid)."""
    for lang in LANGS:
        for intent in INTENTS:
            for i, t in enumerate(TEMPLATES[lang][intent]):
                rng = random.Random(f"report:{lang}:{intent}:{i}")
                keys = {norm_key(render(t, lang, rng)) for _ in range(300)}
                bad = [render(t, lang, rng) for _ in range(20)]
                bad = [b for b in bad if not length_ok(b, lang)]
                if len(keys) < 4 or bad:
                    print(f"{lang} {intent} #{i}: {len(keys)} variants"
                          f"{' LENGTH: ' + bad[0] if bad else ''} | {t}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="regenerate in memory and fail if the files on disk differ")
    ap.add_argument("--report", action="store_true",
                    help="list templates with few distinct variants (authoring aid)")
    args = ap.parse_args(argv)
    for lang in LANGS:
        assert set(TEMPLATES[lang]) == set(INTENTS), lang
        assert set(FAQ[lang]) == set(INTENTS), lang
    if args.report:
        template_report()
        return 0
    files = build_files()
    if args.check:
        stale = [p for p, b in files.items() if not p.exists() or p.read_bytes() != b]
        for p in stale:
            print(f"out of date: {p.relative_to(ROOT)}", file=sys.stderr)
        return 1 if stale else 0
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    total = sum(len(b) for b in files.values())
    print(f"wrote {len(files)} files, {total / 1024:.0f} KiB under {OUT_DIR.relative_to(ROOT)}/")
    for name in ("hotline", "hotline_faq"):
        for lang in LANGS:
            n = [files[OUT_DIR / name / lang / f"{s}.jsonl"].count(b"\n") for s in SPLITS]
            print(f"  {name}/{lang}: train={n[0]} validation={n[1]} test={n[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
